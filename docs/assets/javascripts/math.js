// Render the formulas with the local KaTeX copy (docs/assets/vendor/katex/), no CDN.
// - pages: pymdownx.arithmatex (generic mode) wraps formulas in .arithmatex as \( \) or \[ \]
// - notebook pages (mkdocs-jupyter): markdown cells keep $ / $$, so only those elements
//   are rendered with dollar delimiters (prose elsewhere may contain a literal "$").
document$.subscribe(({ body }) => {
  const brackets = [
    { left: "\\(", right: "\\)", display: false },
    { left: "\\[", right: "\\]", display: true },
  ]
  const dollars = [
    { left: "$$", right: "$$", display: true },
    { left: "$", right: "$", display: false },
    ...brackets,
  ]
  for (const el of body.querySelectorAll(".arithmatex")) {
    renderMathInElement(el, { delimiters: brackets, throwOnError: false })
  }
  for (const el of body.querySelectorAll(".jp-MarkdownOutput")) {
    renderMathInElement(el, { delimiters: dollars, throwOnError: false })
  }
})
