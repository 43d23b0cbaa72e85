"""What a reader sees on a page, measured in the browser at a laptop's width and at a phone's.

The per-page test of tests/site/browser/test_browser_pages.py measures each page in the load it makes
anyway (``measure``: at 1280 px, then the same tab narrowed to 390 px and widened back) and hands the
findings to ``page_layouts`` (tests/site/browser/conftest.py); tests/site/browser/test_readability.py holds every
page to them, one test a problem of issue 22, and loads a page itself when that did not happen.
"""

from __future__ import annotations

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# Findings at the current width. Collapsible blocks are opened first (a table inside one is read too).
FINDINGS = r"""() => {
  const article = document.querySelector("article.md-content__inner") || document.querySelector("article")
  const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 }
  const style = el => getComputedStyle(el)
  const short = text => text.replace(/\s+/g, " ").trim().slice(0, 60)
  const found = {}

  // 1. Markdown left as text: a pipe table outside code
  const prose = article.cloneNode(true)
  prose.querySelectorAll("pre, code, script, style, template, .loss-mask-sample").forEach(el => el.remove())
  found.rawTables = prose.textContent.split("\n").filter(line =>
    /\|\s*:?-{3,}:?\s*\|/.test(line) || /^\s*\|.*\|\s*$/.test(line)).map(short).slice(0, 5)

  // 2. A space after a Japanese full stop or comma (a line break of the source, shown as a space)
  const blocks = article.querySelectorAll("p, li, td, th, dt, dd, h1, h2, h3, h4, h5, h6, summary, figcaption")
  found.spaces = []
  for (const block of blocks) {
    if (!visible(block) || block.closest("pre, code, .loss-mask-sample")) continue
    const text = block.innerText
    const match = text.match(/.{0,12}[。、][ \u00a0]+(?!↩)\S.{0,8}/)  // ↩: a footnote's way back
    if (match) found.spaces.push(match[0])
  }
  found.spaces = [...new Set(found.spaces)].slice(0, 10)

  // 3. Wider than the screen: each table, code block and diagram fits, or scrolls with a visible shadow
  found.pageScrollsSideways = document.documentElement.scrollWidth > window.innerWidth + 1
  found.unmarkedOverflow = []
  found.overflowing = 0
  const wide = [...article.querySelectorAll("table, pre, div.mermaid")].filter(visible)
  for (const el of wide) {
    let scroller = null
    for (let node = el; node && node !== article; node = node.parentElement)
      if (/auto|scroll/.test(style(node).overflowX) && node.scrollWidth > node.clientWidth + 1) { scroller = node; break }
    if (el.tagName === "PRE") {
      const code = el.querySelector(":scope > code")
      if (code && code.scrollWidth > code.clientWidth + 1) scroller = code
    }
    const box = el.getBoundingClientRect()
    const sticksOut = box.right > window.innerWidth + 1 && !scroller
    if (!scroller && !sticksOut) continue
    found.overflowing++
    const shadow = scroller && /radial-gradient/.test(style(scroller).backgroundImage) &&
      /local/.test(style(scroller).backgroundAttachment)
    const inside = scroller && scroller.getBoundingClientRect().right <= window.innerWidth + 1
    if (!shadow || !inside) found.unmarkedOverflow.push(`${el.tagName.toLowerCase()}: ${short(el.textContent)}`)
  }

  // 4. Diagram labels: the smallest drawn size in px (font size times the SVG's scale)
  found.diagramTextPx = []
  for (const host of article.querySelectorAll("div.mermaid")) {
    if (!visible(host) || !host.shadowRoot) continue
    const svg = host.shadowRoot.querySelector("svg")
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width
    const sizes = [...svg.querySelectorAll(".nodeLabel, .edgeLabel, text")]
      .filter(label => label.textContent.trim())
      .map(label => parseFloat(getComputedStyle(label).fontSize) * scale)
    if (sizes.length) found.diagramTextPx.push(Math.round(Math.min(...sizes) * 10) / 10)
  }

  // 5. Underlines (tooltips) where they break up a label: headings, table headers, tabs, summaries, titles
  const labels = article.querySelectorAll("h1, h2, h3, h4, h5, h6, th, .tabbed-labels > label, summary, .admonition-title")
  found.underlinedLabels = []
  for (const label of labels)
    for (const el of [label, ...label.querySelectorAll("*")]) {
      if (el.matches(".headerlink")) continue
      const s = style(el)
      if (el.matches("abbr, a.glossary-term") || /underline/.test(s.textDecorationLine) ||
          (s.borderBottomStyle !== "none" && parseFloat(s.borderBottomWidth) > 0 && el !== label)) {
        found.underlinedLabels.push(short(label.textContent)); break
      }
    }

  // 6. Tooltips: once a term a section, each a link to its glossary entry
  found.repeatedTerms = []
  found.unlinkedTerms = []
  let section = "", seen = new Set()
  for (const el of article.querySelectorAll("h1, h2, h3, h4, h5, h6, abbr")) {
    if (el.tagName !== "ABBR") { section = el.id; seen = new Set(); continue }
    if (seen.has(el.textContent)) found.repeatedTerms.push(`${section}: ${el.textContent}`)
    seen.add(el.textContent)
    const link = el.closest("a.glossary-term")
    if (!link || !/glossary\/(index\.html)?#[\w-]+$/.test(link.getAttribute("href"))) found.unlinkedTerms.push(el.textContent)
  }
  found.terms = article.querySelectorAll("abbr").length

  // 7. Table of contents and how long the page is
  found.tocLinks = document.querySelectorAll(".md-sidebar--secondary .md-nav__link").length
  found.pageHeight = document.documentElement.scrollHeight

  // 8. The title: weight, color (the body text's), and its lines (no line of one character)
  const h1 = article.querySelector("h1")
  if (h1) {
    const range = document.createRange(), lines = new Map()
    const walker = document.createTreeWalker(h1, NodeFilter.SHOW_TEXT)
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.parentElement.closest(".headerlink")) continue
      for (let i = 0; i < node.textContent.length; i++) {
        if (!node.textContent[i].trim()) continue
        range.setStart(node, i); range.setEnd(node, i + 1)
        const top = Math.round(range.getBoundingClientRect().top)
        lines.set(top, (lines.get(top) || 0) + 1)
      }
    }
    found.title = {
      weight: parseInt(style(h1).fontWeight), color: style(h1).color, text: style(article).color,
      lines: lines.size, shortestLine: Math.min(...lines.values()),
    }
  }

  // 9. Text sizes of notes and tables (px)
  const px = selector => [...article.querySelectorAll(selector)].filter(visible)
    .map(el => parseFloat(style(el).fontSize))
  const smallest = values => values.length ? Math.min(...values) : null
  found.textPx = {
    admonitions: smallest(px(".admonition > p:not(.admonition-title), details > p")),
    tables: smallest(px("td")),
    codeInTables: smallest(px("td code")),
  }

  // 10. The copy button: no first line of a code block runs under it
  found.underCopyButton = []
  for (const pre of article.querySelectorAll("pre")) {
    const nav = pre.querySelector(".md-code__nav"), code = pre.querySelector(":scope > code")
    if (!nav || !code || !visible(pre)) continue
    const end = code.textContent.indexOf("\n")
    const range = document.createRange(), walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT)
    range.setStart(code, 0)
    let seen = 0
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (end >= 0 && seen + node.textContent.length > end) { range.setEnd(node, end - seen); break }
      seen += node.textContent.length
      range.setEndAfter(node)
    }
    const line = range.getBoundingClientRect(), button = nav.getBoundingClientRect()
    const overlaps = line.right > button.left && line.left < button.right && line.bottom > button.top && line.top < button.bottom
    if (overlaps && line.width > 0) found.underCopyButton.push(short(code.textContent.slice(0, end >= 0 ? end : 80)))
  }

  // 11. What comes before the first step: no open note box between the title and the first h2
  found.boxesBeforeFirstSection = []
  for (let el = h1 && h1.nextElementSibling; el && el.tagName !== "H2"; el = el.nextElementSibling)
    if (el.matches(".admonition, details[data-was-open]")) found.boxesBeforeFirstSection.push(short(el.textContent))

  // 12. Install commands: one package a line
  found.crowdedInstallLines = [...article.querySelectorAll("pre > code")]
    .flatMap(code => code.textContent.split("\n"))
    .filter(line => (line.match(/==/g) || []).length > 1).map(short)

  // 13. Identifiers in tables break only after an underscore (never per_device_ / train_batch / _size)
  found.brokenIdentifiers = []
  const range = document.createRange()
  for (const code of article.querySelectorAll("td code, th code")) {
    if (!visible(code) || code.getClientRects().length < 2) continue
    const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT)
    let lastTop = null, lastChar = ""
    for (let node = walker.nextNode(); node; node = walker.nextNode())
      for (let i = 0; i < node.textContent.length; i++) {
        range.setStart(node, i); range.setEnd(node, i + 1)
        const box = range.getBoundingClientRect()
        if (!box.width) { lastChar = node.textContent[i]; continue }  // a space where the line broke
        if (lastTop !== null && box.top > lastTop + 2 && !/[_\s\/-]/.test(lastChar))
          found.brokenIdentifiers.push(`${short(code.textContent)} (after "${lastChar}")`)
        lastTop = box.top; lastChar = node.textContent[i]
      }
  }

  // 14. The loss-mask view shown (hands-on): trained tokens in green, the terminal form with [[ ]]
  const sample = article.querySelector(".loss-mask-sample")
  found.lossMask = sample ? {
    green: [...sample.querySelectorAll("span")].filter(s => style(s).backgroundColor === "rgb(200, 230, 201)").length,
    grey: [...sample.querySelectorAll("span")].filter(s => style(s).color === "rgb(117, 117, 117)").length,
    terminal: [...article.querySelectorAll("pre")].some(pre => /\[\[[^\]]+<\/s>\]\]/.test(pre.textContent)),
  } : null
  return found
}"""

# (those open from the start, ???+, keep a mark: they count as open boxes)
OPEN_COLLAPSIBLES = """() => document.querySelectorAll("article details").forEach(d => {
  if (d.open) d.setAttribute("data-was-open", "")
  d.open = true
})"""


def measure(page) -> dict[str, dict]:
    """The findings of the loaded page at a laptop's width and at a phone's (same tab, same load).

    The tab stays at the phone's width: laying a long page out again at 1280 px costs half a second,
    so the ``page`` fixture (conftest.py) widens the tab only once it has left the page."""
    page.evaluate(OPEN_COLLAPSIBLES)
    findings = {"desktop": page.evaluate(FINDINGS)}
    page.set_viewport_size(PHONE)
    page.wait_for_function(f"() => window.innerWidth === {PHONE['width']}")
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    findings["phone"] = page.evaluate(FINDINGS)
    return findings
