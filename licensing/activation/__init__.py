"""activation"""
