"""Measuring whether a page's contents fit, in a real Chromium (used by the layout tests and to
report before/after figures): text cut off or sticking out of its box, words broken in the middle,
plotly titles and labels outside their figure or on top of each other, tick and cell text too
small to read, and plots narrower than they can be read.

Each check returns one plain line per problem, naming the text or figure, so a failing test says
what a student would see.
"""

from __future__ import annotations

# Thresholds, CSS pixels. A plot area (one subplot) narrower than this (or lower than 0.6 of it)
# cannot show its ticks and marks legibly (two histograms side by side on a phone get 126 px each); text smaller than MIN_FONT_PX is unreadable on a tablet held at arm's length.
MIN_PLOT_PX = 120
MIN_FONT_PX = 9

# Runs in a document (the page, or a component's frame). Returns a list of problem lines.
CONTENT_FIT = r"""([minPlot, minFont]) => {
  const bad = [];
  const root = document.querySelector('[data-testid="stMain"]') || document.body;
  const shown = (el) => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none' && +s.opacity !== 0; };
  const snip = (t) => JSON.stringify(t.replace(/\s+/g, ' ').trim().slice(0, 50));
  const union = (rects) => { let u = null; for (const r of rects) { if (!r.width) continue;
    u = u ? {left: Math.min(u.left, r.left), right: Math.max(u.right, r.right), top: Math.min(u.top, r.top),
             bottom: Math.max(u.bottom, r.bottom)} : {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; }
    return u; };

  // 1. Text (HTML): every text node against each ancestor that clips it (overflow hidden, clip, or
  //    an ellipsis) and against its column. A scroll box (overflow auto/scroll) is a deliberate way
  //    to show something wide and is not counted. Also: a word broken in the middle across lines.
  const SCROLL_BOXES = '.katex-display, pre, [data-testid="stCode"], [data-testid="stJson"], .stCodeBlock';
  const column = (el) => el.closest('[data-testid="stColumn"]') || el.closest('[data-testid="stSidebar"]') || root;
  // A formula (KaTeX) is measured whole (what is drawn of it): its characters sit in boxes of their own.
  const pieces = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!node.textContent.trim() || !parent) continue;
    if (parent.closest('.katex-mathml')) continue;  // the formula's source, for screen readers: not drawn
    const formula = parent.closest('.katex-html');
    if (formula) { if (pieces.length === 0 || pieces[pieces.length - 1][0] !== formula) pieces.push([formula, formula.parentElement]); }
    else pieces.push([node, parent]);
  }
  for (const [piece, parent] of pieces) {
    const text = piece.textContent;
    if (parent.closest('svg, script, style, [data-testid="stTooltipContent"]')) continue;
    if (!shown(parent) || /Material/.test(getComputedStyle(parent).fontFamily)) continue;  // an icon's ligature name
    const range = document.createRange(); range.selectNodeContents(piece);
    const box = union(range.getClientRects());
    if (!box) continue;
    // Each ancestor that clips and that the text goes past: a deliberate scroll box (a formula's,
    // code's) is fine, anything else cuts the text off.
    let scrolled = false;
    for (let a = parent; a && a !== root; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX === 'visible') continue;
      const r = a.getBoundingClientRect();
      if (box.right <= r.right + 1 && box.left >= r.left - 1) continue;
      if (r.width <= 1 && r.height <= 1) { scrolled = true; break; }  // text for screen readers only, never drawn
      if ((s.overflowX === 'auto' || s.overflowX === 'scroll') && a.matches(SCROLL_BOXES)) { scrolled = true; break; }
      bad.push(`text ${snip(text)} is cut off (${Math.round(box.right - box.left)} px of text in a ${Math.round(r.width)} px box)`);
      scrolled = true;
      break;
    }
    if (scrolled) continue;
    const c = column(parent).getBoundingClientRect();
    if (box.right > c.right + 2 || box.left < c.left - 2)
      bad.push(`text ${snip(text)} sticks out of its column by ${Math.round(Math.max(box.right - c.right, c.left - box.left))} px`);
    // (A JSON view breaks long values anywhere: it is data, not prose.)
    if (piece.nodeType !== Node.TEXT_NODE || parent.closest('code, pre, [data-testid="stJson"]')) continue;
    for (const m of text.matchAll(/[A-Za-z0-9%.,]{3,}/g)) {  // words of letters and digits (not at '-' or '/')
      const w = document.createRange(); w.setStart(piece, m.index); w.setEnd(piece, m.index + m[0].length);
      const tops = new Set([...w.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (tops.size > 1) bad.push(`the word ${snip(m[0])} is broken across lines`);
    }
  }

  // A field's value (a selectbox shows its choice in an input) wider than the field.
  for (const input of root.querySelectorAll('input:not([type=hidden]):not([type=file]):not([type=checkbox]):not([type=radio])')) {
    if (!shown(input) || !input.value) continue;
    if (input.scrollWidth > input.clientWidth + 1)
      bad.push(`the field value ${snip(input.value)} is cut off (${input.scrollWidth} px in a ${input.clientWidth} px field)`);
  }

  // 2. Figures (plotly): titles, annotations, legend and axis text inside the figure, not on top of
  //    each other, not too small; every plot area wide and tall enough.
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    if (!shown(plot)) continue;
    const svg = plot.querySelector('.main-svg');
    if (!svg) continue;
    const f = svg.getBoundingClientRect();
    const title = (plot.querySelector('.gtitle') || {}).textContent || (plot.getAttribute('aria-label') || 'a figure');
    const name = `figure ${snip(title)}`;
    const labels = [];
    for (const t of plot.querySelectorAll('text')) {
      const r = t.getBoundingClientRect();
      if (!r.width || !t.textContent.trim() || getComputedStyle(t).visibility === 'hidden' || +getComputedStyle(t).opacity === 0) continue;
      if (t.closest('.hovertext, .hoverlayer')) continue;
      const size = parseFloat(t.style.fontSize || getComputedStyle(t).fontSize);
      if (size < minFont) bad.push(`${name}: text ${snip(t.textContent)} is ${size.toFixed(1)} px, too small to read`);
      if (r.right > f.right + 1 || r.left < f.left - 1 || r.top < f.top - 1 || r.bottom > f.bottom + 1)
        bad.push(`${name}: text ${snip(t.textContent)} is cut at the figure's edge`);
      if (t.closest('.gtitle, .annotation, .g-xtitle, .g-ytitle, .legendtext, .g-x2title, .g-y2title') || t.classList.contains('legendtext'))
        labels.push([t.textContent, r]);
    }
    for (let i = 0; i < labels.length; i++) for (let j = i + 1; j < labels.length; j++) {
      const [ta, a] = labels[i], [tb, b] = labels[j];
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left), h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > 2 && h > 2 && !(a.left >= b.left && a.right <= b.right && a.top >= b.top && a.bottom <= b.bottom)
          && !(b.left >= a.left && b.right <= a.right && b.top >= a.top && b.bottom <= a.bottom))
        bad.push(`${name}: ${snip(ta)} overlaps ${snip(tb)}`);
    }
    for (const drag of plot.querySelectorAll('.nsewdrag')) {
      const r = drag.getBoundingClientRect();
      if (r.width && (r.width < minPlot || r.height < minPlot * 0.6))
        bad.push(`${name}: a plot area is only ${Math.round(r.width)}×${Math.round(r.height)} px`);
    }
  }
  return bad;
}"""

# Elements' boxes against their column's (or the main block's); a table's inner scroller and a
# plotly chart's SVG against their column too; the page must not scroll sideways.
BOXES = r"""() => {
  const bad = [];
  const sel = ['stDataFrame', 'stPlotlyChart', 'stImage', 'stMetric', 'stCameraInput', 'stFileUploader',
               'stCaptionContainer', 'stMarkdownContainer', 'stButtonGroup', 'stCustomComponentV1', 'stHtml']
              .map(t => `[data-testid="${t}"]`).join(',');
  for (const el of document.querySelectorAll(sel)) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || el.closest('[data-testid="stSidebar"]')) continue;
    const col = el.closest('[data-testid="stColumn"]') || el.closest('[data-testid="stMainBlockContainer"]') || document.body;
    const c = col.getBoundingClientRect();
    const name = el.getAttribute('data-testid') + ' ' + JSON.stringify((el.innerText || '').slice(0, 40).replace(/\n/g, ' '));
    if (r.right > c.right + 1 || r.left < c.left - 1) bad.push(`${name} sticks out of its column`);
    for (const s of el.querySelectorAll('.dvn-scroller'))
      if (s.scrollWidth > s.clientWidth + 1) bad.push(`${name} scrolls sideways (${s.scrollWidth} > ${s.clientWidth} px)`);
    for (const s of el.querySelectorAll('.main-svg'))
      if (s.getBoundingClientRect().right > c.right + 1) bad.push(`${name}: its plot is wider than its column`);
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1) bad.push('the page scrolls sideways');
  return bad;
}"""


def content_problems(page, grow: bool = True) -> list[str]:
    """Everything on ``page`` that does not fit (see the module's docstring), in the page and in
    every component frame (the live charts are plotly charts in frames). With ``grow`` the
    viewport is first made as tall as the page, so that every element is laid out, then set back."""
    size = page.viewport_size
    if grow:
        height = page.evaluate("() => (document.querySelector('[data-testid=\"stMain\"]') || document.body).scrollHeight")
        page.set_viewport_size({"width": size["width"], "height": min(int(height) + 50, 12000)})
        settle(page)
    try:
        problems = page.evaluate(BOXES)
        for frame in page.frames:
            try:
                found = frame.evaluate(CONTENT_FIT, [MIN_PLOT_PX, MIN_FONT_PX])
            except Exception:  # a frame navigating or gone: nothing to measure in it
                continue
            where = "" if frame == page.main_frame else f"[frame {frame.name or frame.url.rsplit('/', 1)[-1]}] "
            problems += [where + p for p in found]
        return sorted(set(problems))
    finally:
        if grow:
            page.set_viewport_size(size)


def settle(page, timeout_ms: int = 15_000) -> None:
    """Wait until the layout stops moving: the main block's height and every plotly chart's width
    are the same on two animation frames 300 ms apart (a resize makes plotly redraw)."""
    page.wait_for_function("""() => new Promise(done => {
        const shape = () => JSON.stringify([document.querySelector('[data-testid="stMain"]')?.scrollHeight,
          [...document.querySelectorAll('.main-svg')].map(s => Math.round(s.getBoundingClientRect().width))]);
        const before = shape();
        setTimeout(() => requestAnimationFrame(() => done(shape() === before)), 300);
      })""", timeout=timeout_ms, polling=100)
