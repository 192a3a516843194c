"""Data-subject requests (GDPR Arts 12, 15-21): their life cycle, deadlines and completion."""
