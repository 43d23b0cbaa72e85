// Room for the copy button: a code block whose first line runs under the button (top right) gets
// data-long-first-line, and docs/stylesheets/extra.css moves its first line below the button.
// Measured again when the width changes (a phone turned, a window resized) and when a collapsible block
// or a content tab shows blocks that were hidden (a hidden block has no size to measure).
(() => {
  const BUTTON_EM = 2.6 // the button and its margin, in the code's em (Material: 1.5em icon + padding)

  function firstLineUnderButton(pre) {
    const code = pre.querySelector(":scope > code")
    if (!code || !code.firstChild) return false
    const box = code.getBoundingClientRect()
    const nav = pre.querySelector(".md-code__nav")
    const limit = nav
      ? nav.getBoundingClientRect().left
      : box.right - BUTTON_EM * parseFloat(getComputedStyle(code).fontSize)
    // The first line: up to the first line break of the block's text
    const range = document.createRange()
    const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT)
    range.setStart(code, 0)
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const end = node.textContent.indexOf("\n")
      if (end >= 0) {
        range.setEnd(node, end)
        break
      }
      range.setEndAfter(node)
    }
    const line = range.getBoundingClientRect()
    return line.width > 0 && line.right > limit - 2
  }

  function measure() {
    for (const pre of document.querySelectorAll(".md-typeset pre")) {
      if (!pre.querySelector(":scope > code")) continue
      pre.removeAttribute("data-long-first-line")
      if (firstLineUnderButton(pre)) pre.setAttribute("data-long-first-line", "")
    }
  }

  let width = 0
  const again = () => {
    if (window.innerWidth === width) return
    width = window.innerWidth
    measure()
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", again)
  else again()
  window.addEventListener("resize", again)
  document.addEventListener("toggle", measure, true) // <details> opened (toggle does not bubble)
  document.addEventListener("change", event => {
    if (event.target.matches?.(".tabbed-set > input")) measure()
  })
})()
