// Render a Markdown report as GitHub shows it: GitHub's Markdown CSS, and Mermaid code blocks
// drawn by Mermaid itself. Used by scripts/screenshots; the page reports what it rendered in
// <body data-rendered="N" data-errors="..."> so the script can fail on a chart Mermaid refuses.
// Usage: node render_markdown.mjs REPORT.md PAGE.html NODE_MODULES MERMAID_PACKAGE
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { join } from "node:path";

const [input, output, modules, mermaidPackage] = process.argv.slice(2);
const { marked } = await import(pathToFileURL(join(modules, "marked/lib/marked.esm.js")).href);
const body = marked.parse(readFileSync(input, "utf8"), { gfm: true });
const css = pathToFileURL(join(modules, "github-markdown-css/github-markdown-light.css")).href;
const mermaid = pathToFileURL(join(modules, mermaidPackage, "dist/mermaid.min.js")).href;

writeFileSync(output, `<!doctype html>
<html><head><meta charset="utf-8"><link rel="stylesheet" href="${css}">
<style>body { margin: 0; background: #fff; } .markdown-body { max-width: 880px; padding: 24px; }</style>
<script src="${mermaid}"></script></head>
<body><article class="markdown-body">${body}</article>
<script>
  mermaid.initialize({ startOnLoad: false });
  (async () => {
    const blocks = [...document.querySelectorAll("pre > code.language-mermaid")];
    const errors = [];
    for (const [i, code] of blocks.entries()) {
      const holder = document.createElement("div");
      try {
        const { svg } = await mermaid.render("chart" + i, code.textContent);
        holder.innerHTML = svg;
      } catch (error) {
        errors.push("chart " + (i + 1) + ": " + String(error.message || error).split("\\n")[0]);
        holder.textContent = "Mermaid error";
      }
      code.parentElement.replaceWith(holder);
    }
    document.body.dataset.rendered = String(blocks.length - errors.length);
    document.body.dataset.errors = errors.join(" | ");
    document.body.dataset.height = String(document.documentElement.scrollHeight);
  })();
</script></body></html>
`);
