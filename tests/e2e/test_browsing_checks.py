"""The page checks themselves fail on a page that breaks them."""

from __future__ import annotations

import pytest

from browsing import Browsing


@pytest.fixture
def bare_page(browser, tmp_path):
    context = browser.new_context()
    yield Browsing(context.new_page(), tmp_path / "shots")
    context.close()


def test_axe_finds_an_input_without_a_label(bare_page):
    bare_page.page.set_content('<!doctype html><html lang="en"><head><title>t</title></head>'
                               '<body><main><h1>t</h1><input name="q"></main></body></html>')
    with pytest.raises(AssertionError, match="label"):
        bare_page.check("unlabelled input")


def test_tab_check_finds_a_control_taken_out_of_the_tab_order(bare_page):
    bare_page.page.set_content('<!doctype html><html lang="en"><head><title>t</title></head>'
                               '<body><main><a href="/a">a</a>'
                               '<button tabindex="-1">hidden from tab</button></main></body></html>')
    with pytest.raises(AssertionError, match="hidden from tab"):
        bare_page.tab_reaches_every_control()
