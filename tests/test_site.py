"""The self-study site (``make site``): built from every solution notebook (here executed in the quick grading
profile), and every page rendered in Chromium: a screenshot per page (build/site-pages/), no missing image, the
notebook's title, its math typeset (MathJax shipped with the site, no CDN), its Colab badge, its figures and its
measured numbers (the ✔ lines of its tests)."""

import pytest

import nbgrading as G
from cs280diff.course.site import build_site

SHOTS = G.REPO / "build" / "site-pages"


@pytest.fixture(scope="module")
def site(tmp_path_factory, chromium):
    index = build_site(tmp_path_factory.mktemp("site"), quick=True, log=lambda _: None)
    return index, chromium


def test_every_notebook_has_a_page_that_renders(site):
    from playwright.sync_api import sync_playwright

    index, chromium = site
    html = index.parent
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(index.as_uri())
        links = page.locator("table a").all_inner_texts()
        assert len(links) == len(G.notebook_ids()), links
        for aid in G.notebook_ids():
            page.goto((html / f"{aid}.html").as_uri())
            page.wait_for_load_state("load")
            page.wait_for_function("document.querySelectorAll('mjx-container').length > 0", timeout=30_000)  # math
            broken = page.evaluate("[...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
                                   ".map(i => i.src)")
            assert not broken, (aid, broken)
            n_images = page.evaluate("document.images.length")
            assert n_images >= 2, (aid, n_images)  # the badge and at least one figure
            text = page.inner_text("body")
            assert "Notebook" in page.title() or "Notebook" in text[:500], aid
            assert page.locator("img[alt='Open in Colab']").count() == 1
            assert "✔" in text, aid  # the tests' success lines, with their numbers
            page.screenshot(path=str(SHOTS / f"{aid}.png"))
        browser.close()
