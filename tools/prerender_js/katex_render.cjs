// Typesets formulas with the site's own KaTeX copy, as assets/javascripts/math.js does in the browser.
// Usage: node katex_render.cjs path/to/katex.min.js < formulas.json > drawn.json
// stdin: a JSON list of formulas with their delimiters (\( ... \) inline, \[ ... \] display);
// stdout: {"katex": version, "formulas": {formula: HTML}}. A formula KaTeX cannot parse stops it.
"use strict"
const fs = require("fs")
const katex = require(process.argv[2])
const formulas = JSON.parse(fs.readFileSync(0, "utf8"))
const drawn = {}
for (const formula of formulas) {
  const display = formula.startsWith("\\[")
  if (!(display ? formula.endsWith("\\]") : formula.startsWith("\\(") && formula.endsWith("\\)"))) {
    throw new Error(`not a \\( \\) or \\[ \\] formula: ${formula}`)
  }
  drawn[formula] = katex.renderToString(formula.slice(2, -2), { displayMode: display, throwOnError: true })
}
process.stdout.write(JSON.stringify({ katex: katex.version, formulas: drawn }))
