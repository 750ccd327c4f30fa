"""The page of `html.py`, rendered by Jinja2 with autoescape on.

No script, no external resource: the CSP below allows inline styles and data: images only.
Every value is autoescaped; attributes are always quoted. Colours come from charts.py's
palettes, never from the report. Styles follow the reader's light or dark scheme and print in
black on white with the charts' colours kept (print-color-adjust).
"""

TEMPLATE = """\
{% macro svg(c) %}
<svg viewBox="0 0 {{ c.width|px }} {{ c.height|px }}" width="{{ c.width|px }}" height="{{ c.height|px }}" \
role="img" aria-labelledby="{{ c.id }}-title {{ c.id }}-desc">
<title id="{{ c.id }}-title">{{ c.title }}</title>
<desc id="{{ c.id }}-desc">{{ c.description }}</desc>
{% if c.empty %}
<rect class="frame" x="1" y="1" width="{{ (c.width - 2)|px }}" height="{{ (c.height - 2)|px }}" rx="6"/>
<text class="empty" x="{{ (c.width / 2)|px }}" y="{{ (c.height / 2 + 5)|px }}" text-anchor="middle">{{ c.empty }}</text>
{% else %}
{% for r in c.rules %}
<line class="{{ r.kind }}" x1="{{ r.x1|px }}" y1="{{ r.y1|px }}" x2="{{ r.x2|px }}" y2="{{ r.y2|px }}"/>
{% endfor %}
{% for r in c.rects %}
<rect class="mark" x="{{ r.x|px }}" y="{{ r.y|px }}" width="{{ r.width|px }}" height="{{ r.height|px }}" \
fill="{{ r.fill }}"><title>{{ r.tip }}</title></rect>
{% endfor %}
{% for r in c.placeholders %}
<rect class="placeholder" x="{{ r.x|px }}" y="{{ r.y|px }}" width="{{ r.width|px }}" height="{{ r.height|px }}">\
<title>{{ r.tip }}</title></rect>
{% endfor %}
{% for p in c.pictures %}
<image class="thumb" x="{{ p.x|px }}" y="{{ p.y|px }}" width="{{ p.size|px }}" height="{{ p.size|px }}" \
preserveAspectRatio="xMidYMid slice" href="{{ p.href }}"><title>{{ p.tip }}</title></image>
{% endfor %}
{% for l in c.lines %}
<polyline class="mark" points="{{ l.points }}" stroke="{{ l.stroke }}"\
{% if l.dash %} stroke-dasharray="{{ l.dash }}"{% endif %}><title>{{ l.tip }}</title></polyline>
{% endfor %}
{% for d in c.dots %}
<circle class="mark" cx="{{ d.cx|px }}" cy="{{ d.cy|px }}" r="{{ d.r|px }}" fill="{{ d.fill }}">\
<title>{{ d.tip }}</title></circle>
{% endfor %}
{% for t in c.texts %}
<text class="{{ t.kind }}" x="{{ t.x|px }}" y="{{ t.y|px }}" text-anchor="{{ t.anchor }}"\
{% if t.vertical %} transform="rotate(-90 {{ t.x|px }} {{ t.y|px }})"{% endif %}>{{ t.text }}</text>
{% endfor %}
{% endif %}
</svg>
{% if c.legend %}
<ul class="legend">
{% for k in c.legend %}
<li><span class="key{{ ' line' if k.line else '' }}" style="border-color: {{ k.color }}\
{%- if k.line %}; border-top-style: {{ k.line }}{% endif %}"></span>{{ k.label }}</li>
{% endfor %}
</ul>
{% endif %}
{% endmacro %}
{% macro cell(c) %}
<td class="num{{ ' missing' if c.missing else '' }}"{% if c.tip %} title="{{ c.tip }}"{% endif %}>{{ c.text }}</td>
{% endmacro %}
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>SocialOmega report {{ since }} to {{ until }}</title>
<style>
:root { color-scheme: light dark; --fg: #1f2328; --bg: #fff; --muted: #59636e; --grid: #d8dee4; --frame: #8c959f; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --bg: #17191c; --muted: #9aa3ad; --grid: #353b42; --frame: #6e7781; }
}
@media print {
  :root { --fg: #000; --bg: #fff; --muted: #333; --grid: #ccc; --frame: #666; }
  section, figure, tr { break-inside: avoid; }
  a { color: inherit; }
}
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0 auto; max-width: 1100px; padding: 24px; color: var(--fg); background: var(--bg);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.2rem; margin: 32px 0 4px; }
h3 { font-size: 1rem; margin: 16px 0 4px; }
.meta, .note { color: var(--muted); margin: 0 0 8px; }
figure { margin: 0 0 12px; }
.side-by-side { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 440px), 1fr)); gap: 0 32px; }
caption { text-align: left; }
svg { display: block; width: 100%; max-width: 720px; height: auto; color: var(--fg); }
svg text { fill: currentColor; font-size: 12px; }
svg text.axis { font-weight: 600; }
svg text.label { font-size: 12px; }
svg text.empty { fill: var(--muted); font-size: 16px; }
svg line.grid { stroke: var(--grid); }
svg line.axis { stroke: currentColor; }
svg rect.mark { stroke: var(--bg); stroke-width: 0.5; }
svg polyline.mark { fill: none; stroke-width: 2.5; stroke-linejoin: round; stroke-linecap: round; }
svg circle.mark { stroke: var(--bg); stroke-width: 1; }
svg .frame, svg .placeholder { fill: none; stroke: var(--frame); stroke-dasharray: 6 4; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 16px; padding: 0; margin: 6px 0 0;
  font-size: 13px; }
.key { display: inline-block; width: 0; height: 0; border-top: 12px solid; border-left: 12px solid;
  margin-right: 6px; vertical-align: -1px; }
.key.line { width: 28px; border-top-width: 3px; border-left: 0; vertical-align: 4px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--grid); text-align: left; vertical-align: top; }
th { font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.missing { color: var(--muted); cursor: help; }
</style>
</head>
<body>
<header>
<h1>Your week on social</h1>
<p class="meta">Photos published {{ since }} to {{ until }} (UTC dates) · generated {{ generated }} UTC\
{% if environment %} · environment {{ environment }}{% endif %}</p>
{% if totals %}
<table class="totals">
<caption class="note">Totals per target (sums of the available figures; — where a target has none)</caption>
<thead><tr><th>Target</th><th class="num">Posts</th>\
{% for m in metrics %}<th class="num">{{ m|capitalize }}</th>{% endfor %}</tr></thead>
<tbody>
{% for target, cells in totals %}
<tr><td>{{ target }}</td>{% for c in cells %}{{ cell(c) }}{% endfor %}</tr>
{% endfor %}
</tbody>
</table>
{% endif %}
</header>
<main>
{% for p in panels %}
<section data-chart="{{ p.name }}" aria-labelledby="{{ p.name }}-heading">
<h2 id="{{ p.name }}-heading">{{ p.heading }}</h2>
<p class="note">{{ p.note }}</p>
<div class="figures{{ ' side-by-side' if p.captions else '' }}">
{% for c in p.charts %}
<figure>
{% if p.captions %}<h3>{{ c.title }}</h3>{% endif %}
{{ svg(c) }}
</figure>
{% endfor %}
</div>
</section>
{% endfor %}
<section aria-labelledby="posts-heading">
<h2 id="posts-heading">Posts</h2>
<p class="note">Newest first; times UTC. — marks a figure the platform did not give (hover it for why).\
{% if failures %} {{ failures }} publication(s) failed: see Failures by reason.{% endif %}</p>
{% if rows %}
<table class="posts">
<thead><tr><th>Published</th><th>Photo</th><th>Target</th>\
{% for m in metrics %}<th class="num">{{ m|capitalize }}</th>{% endfor %}<th>Last updated</th></tr></thead>
<tbody>
{% for r in rows %}
<tr><td class="num">{{ r.published }}</td>\
<td>{% if r.link %}<a href="{{ r.link }}" rel="noopener noreferrer">{{ r.photo }}</a>\
{% else %}{{ r.photo }}{% endif %}</td>\
<td>{{ r.target }}</td>{% for c in r.cells %}{{ cell(c) }}{% endfor %}<td class="num">{{ r.updated }}</td></tr>
{% endfor %}
</tbody>
</table>
{% else %}
<p class="empty">No posts in this range.</p>
{% endif %}
</section>
</main>
</body>
</html>
"""
