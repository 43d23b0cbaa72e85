"""Everything the site build runs: mkdocs.yml registers one hook, hooks.py, which hands each build
event to these modules in a fixed order.

- rendered.py: what is made when the site is built, from the pins, the pages and the script (the
  versions page, and the includes named ``rendered/...``); the notebook generator uses it too.
- japanese_text.py: no stray spaces where a line breaks inside a Japanese sentence (pages and notebook).
- tables.py: identifiers in table cells break only after an underscore.
- japanese_abbr.py: glossary tooltips that work inside Japanese sentences.
- prerendered.py: diagrams and formulas drawn ahead of time (tools/prerender.py draws them).
- lighter_pages.py: fewer bytes a page (search index, notebook pages).
- japanese_search.py: Material's search keeps the last kanji of a query.
- notebook_page.py: the notebook page reads like the hands-on page (table of contents, notes, Colab button).
"""
