"""What a person sees of the pages and the mail, measured in Debian's Chromium.

Driven by tests/layout.rs with a spec (JSON, argv[1]):
  {"artifacts": DIR, "chromium": PATH, "documents": [
      {"name": "index", "file": "/abs/index.html", "widths": [390, 768, 1280],
       "attention": ["task", ...], "failed": true}, ...]}
Each document is opened at each width, light and dark, and its geometry checked (not its
text): nothing out of view sideways, every chart drawn inside its box, no tall row or card
on a phone, a failed run's outcome in view, the tasks needing attention named in the first
screen. A screenshot of each (its first screen; the whole page too where "full_page") is kept
in DIR, and with "screenshots": DOCS the index's at 1280 and 390 px are copied there for the
README. Prints every problem found and exits 1 if any.
"""

import json
import re
import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

PHONE = 390
SCREEN_HEIGHT = 844
TALLEST = 240

# Runs in the page; returns a list of problems in words.
MEASURE = """
([phone, tallest, screenHeight, attention, failed]) => {
  const problems = [];
  const width = document.documentElement.clientWidth;
  const where = (e) => {
    let s = e.tagName.toLowerCase();
    if (e.id) s += '#' + e.id;
    if (e.classList.length) s += '.' + [...e.classList].join('.');
    const text = (e.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 60);
    return text ? `${s} "${text}"` : s;
  };
  const shown = (e) => e.getClientRects().length > 0;

  // The document does not scroll sideways.
  const docWidth = document.documentElement.scrollWidth;
  if (docWidth > width + 1) problems.push(`the document scrolls sideways: ${docWidth} px wide in ${width} px`);

  // No block hides part of itself in a sideways-scrolling (or clipping) box.
  for (const e of document.querySelectorAll('body *')) {
    if (!shown(e)) continue;
    const style = getComputedStyle(e);
    if (style.overflowX === 'visible') continue;
    if (e.scrollWidth > e.clientWidth + 1)
      problems.push(`${where(e)} hides ${e.scrollWidth - e.clientWidth} px sideways (overflow-x: ${style.overflowX})`);
  }

  // Every chart's drawn elements have a box, inside the chart.
  for (const svg of document.querySelectorAll('svg')) {
    if (!shown(svg)) continue;
    const box = svg.getBoundingClientRect();
    if (box.width < 1 || box.height < 1) { problems.push(`chart ${where(svg)} has no size`); continue; }
    const marks = svg.querySelectorAll('rect, line, polyline, polygon, path, circle, text');
    if (marks.length === 0) problems.push(`chart ${where(svg)} draws nothing`);
    for (const m of marks) {
      const r = m.getBoundingClientRect();
      if (r.width + r.height < 0.5) { problems.push(`chart ${where(svg)}: its ${m.tagName} is not drawn`); continue; }
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1)
        problems.push(`chart ${where(svg)}: its ${m.tagName} lies outside it`);
    }
    // A line of measures spans the chart: its history is not squeezed into a corner.
    for (const line of svg.querySelectorAll('polyline')) {
      const points = (line.getAttribute('points') || '').trim().split(/\\s+/).filter(Boolean);
      const r = line.getBoundingClientRect();
      if (points.length > 1 && r.width < box.width / 2)
        problems.push(`chart ${where(svg)}: its line of ${points.length} points spans ${Math.round(r.width)} of ${Math.round(box.width)} px`);
    }
  }

  if (width <= phone) {
    // No row, card or list item is taller than a phone can take in.
    for (const e of document.querySelectorAll('tr, li, article, .card')) {
      if (!shown(e)) continue;
      const h = e.getBoundingClientRect().height;
      if (h > tallest) problems.push(`${where(e)} is ${Math.round(h)} px tall`);
    }
    // A failed run's outcome is in view without scrolling sideways.
    const badges = [...document.querySelectorAll('.badge.failed, .outcome.failed')].filter(shown);
    if (failed && badges.length === 0) problems.push('no failed outcome is shown');
    for (const b of badges) {
      const r = b.getBoundingClientRect();
      if (r.left < 0 || r.right > width + 1) problems.push(`the outcome ${where(b)} is out of view sideways`);
      for (let a = b.parentElement; a && a !== document.body; a = a.parentElement) {
        if (getComputedStyle(a).overflowX === 'visible') continue;
        const c = a.getBoundingClientRect();
        if (r.left < c.left - 1 || r.right > c.right + 1) problems.push(`the outcome ${where(b)} is clipped by ${where(a)}`);
      }
    }
    // Each task needing attention is named in the first screen.
    for (const name of attention) {
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      let top = null;
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        if (!n.textContent.includes(name) || !shown(n.parentElement)) continue;
        const range = document.createRange();
        range.selectNodeContents(n);
        const r = range.getBoundingClientRect();
        if (r.width > 0) { top = r.top + window.scrollY; break; }
      }
      if (top === null) problems.push(`${name} is not named`);
      else if (top > screenHeight - 20) problems.push(`${name} is first named ${Math.round(top)} px down, below the first screen`);
    }
  }
  return problems;
}
"""


def first_of_each_kind(found):
    """The first problem of each kind (the same words but for names and numbers), with how
    many more there are like it: a hundred tall rows are one line."""
    kinds = {}
    for what in found:
        kinds.setdefault(re.sub(r'"[^"]*"|[0-9]+', "", what), []).append(what)
    return [same[0] + (f" (and {len(same) - 1} more like it)" if len(same) > 1 else "") for same in kinds.values()]


def main():
    spec = json.loads(Path(sys.argv[1]).read_text())
    artifacts = Path(spec["artifacts"])
    artifacts.mkdir(parents=True, exist_ok=True)
    problems = []
    found_in_all = 0
    checked = 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=spec["chromium"], args=["--no-sandbox"])
        for doc in spec["documents"]:
            for scheme in ["light", "dark"]:
                context = browser.new_context(color_scheme=scheme)
                page = context.new_page()
                for width in doc["widths"]:
                    page.set_viewport_size({"width": width, "height": SCREEN_HEIGHT})
                    page.goto(Path(doc["file"]).as_uri())
                    found = page.evaluate(
                        MEASURE, [PHONE, TALLEST, SCREEN_HEIGHT, doc.get("attention", []), doc.get("failed", False)]
                    )
                    shot = artifacts / f"{doc['name']}-{width}-{scheme}.png"
                    page.screenshot(path=str(shot))
                    if doc.get("full_page"):
                        page.screenshot(path=str(artifacts / f"{doc['name']}-{width}-{scheme}-full.png"), full_page=True)
                    checked += 1
                    found_in_all += len(found)
                    view = f"{doc['name']} at {width} px, {scheme}"
                    problems += [f"{view}: {what}" for what in first_of_each_kind(found)]
                context.close()
        browser.close()
    # The README's two pictures: the index of a site needing attention, desktop and phone.
    if spec.get("screenshots"):
        docs = Path(spec["screenshots"])
        docs.mkdir(parents=True, exist_ok=True)
        for width, name in [(1280, "index-desktop.png"), (PHONE, "index-phone.png")]:
            shutil.copyfile(artifacts / f"index-{width}-light.png", docs / name)
    for problem in problems:
        print(problem)
    print(f"{checked} views measured, {found_in_all} problems; screenshots in {artifacts}")
    sys.exit(1 if found_in_all else 0)


if __name__ == "__main__":
    main()
