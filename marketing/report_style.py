"""The report page's stylesheet, inlined in the page (no external resource: the page works
offline and as an e-mail attachment), with a print layout: one journey per page, colours kept."""

CSS = """
:root{--ink:#1f2328;--muted:#5b6370;--line:#d8dde4;--head:#f5f7fa;--accent:#3d66a3;
--good:#17803d;--good-bg:#e3f4e8;--warn:#8a5300;--warn-bg:#fdf0d5;--bad:#b42318;--bad-bg:#fde8e6;--na:#5f6773;--na-bg:#eceef2}
*{box-sizing:border-box}
body{margin:0;color:var(--ink);background:#fff;
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:28px 32px 56px}
h1{font-size:27px;margin:0}
h2{font-size:22px;margin:0}
#summary h2{margin:26px 0 8px}
h3{font-size:16px;margin:26px 0 8px}
.meta{color:var(--muted);margin:4px 0 0}
.meta code{font-size:13px}
a{color:var(--accent)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;margin:6px 0;font-variant-numeric:tabular-nums}
th,td{padding:6px 9px;border-bottom:1px solid var(--line);text-align:right;vertical-align:top}
thead th{background:var(--head);font-weight:600;font-size:13.5px;vertical-align:bottom}
th:first-child,td:first-child{text-align:left}
td.na{color:var(--na)}
.steps{font-size:13.5px}
.steps th,.steps td{padding:5px 6px}
.steps td small{display:block;color:var(--muted);white-space:nowrap}
.steps td:first-child{white-space:nowrap}
.summary{font-size:14px}
.summary th,.summary td{padding:6px 6px}
.summary td:first-child{min-width:13em}
.summary td:first-child a{font-weight:600}
.summary td:first-child small{display:block;color:var(--muted)}
.summary td small{display:block;color:var(--muted)}
.nowrap{white-space:nowrap}
.pill{display:inline-block;padding:0 8px;border-radius:10px;font-size:13px;font-weight:600;white-space:nowrap}
.met{background:var(--good-bg);color:var(--good)}
.not-met{background:var(--bad-bg);color:var(--bad)}
.warn{background:var(--warn-bg);color:var(--warn)}
.no-data{background:var(--na-bg);color:var(--na)}
.journey{border-top:2px solid var(--line);margin-top:44px;padding-top:26px}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin:18px 0 4px}
.kpi{border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.kpi b{display:block;font-size:24px;line-height:1.2}
.kpi span{color:var(--muted);font-size:13px}
.empty{background:var(--na-bg);border-radius:8px;padding:12px 16px;margin:18px 0}
.funnel td{border:none;padding:4px 9px}
.funnel th{background:none;text-align:left;color:var(--muted);font-size:13px;padding:10px 9px 2px}
.funnel td.bar{width:55%}
.funnel .bar i{display:block;height:20px;background:var(--accent);border-radius:3px;min-width:2px}
.funnel td.n{font-size:17px;font-weight:600}
.graph{margin:6px 0;border:1px solid var(--line);border-radius:8px;padding:12px}
.graph svg{display:block;max-width:100%;height:auto;margin:0 auto}
.wide .graph{width:min(calc(100vw - 48px),1600px);margin-left:calc(50% - min(calc(50vw - 24px),800px))}
figcaption{color:var(--muted);font-size:13px;margin-top:8px}
.swatch{display:inline-block;width:12px;height:12px;border:1px solid;border-radius:3px;vertical-align:-1px;margin:0 4px 0 10px}
.back{font-size:13px;margin-top:16px}
@media print{
@page{margin:14mm}
@page wide{size:landscape}
.wide{page:wide}
body{font-size:10pt}
main{max-width:none;padding:0}
.journey{break-before:page;border-top:none;margin-top:0;padding-top:0}
table,figure,.kpis,h3{break-inside:avoid}
h3{break-after:avoid}
.graph,.wide .graph{border:none;padding:0;break-before:page;width:auto;margin:0}
.graph svg{max-height:225mm}
.back{display:none}
.scroll{overflow:visible}
.summary,.steps{font-size:8pt}
.summary th,.summary td,.steps th,.steps td{padding:3px 4px;font-size:8pt}
.summary td:first-child{min-width:7em}
.pill{font-size:8pt;padding:0 4px;white-space:normal}
.steps td:first-child,.steps td small{white-space:normal}
a{color:inherit;text-decoration:none}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""
