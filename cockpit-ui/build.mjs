// Builds the cockpit app into ../src/coven/cockpit/static (app.js, app.css, index.html).
// Run through build.sh, which installs the pinned packages first and stamps the manifest.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "src", "coven", "cockpit", "static");
mkdirSync(out, { recursive: true });
// Start clean: a chunk from an earlier build must not linger beside the new ones.
for (const name of readdirSync(out)) {
  if (/\.(js|css|html)$/.test(name)) rmSync(join(out, name));
}

const common = {
  bundle: true,
  minify: true,
  legalComments: "eof",
  logLevel: "info",
  target: ["chrome110", "firefox115", "safari16"],
};
// ES modules with splitting: the terminal (xterm.js, most of the bytes) is its own chunk,
// loaded after the first paint, so the session list appears without waiting for it.
const app = await esbuild.build({
  ...common,
  entryPoints: { app: join(here, "src", "main.ts") },
  format: "esm",
  splitting: true,
  outdir: out,
  chunkNames: "chunk-[hash]",
  metafile: true,
});
// The chunks app.js imports statically are fetched with it, not after it.
const entry = Object.entries(app.metafile.outputs).find(([, o]) => o.entryPoint)?.[1];
const preloads = (entry?.imports ?? [])
  .filter((i) => i.kind === "import-statement")
  .map((i) => `<link rel="modulepreload" href="/static/${basename(i.path)}">`);
await esbuild.build({
  ...common,
  entryPoints: [join(here, "src", "styles.css")],
  outfile: join(out, "app.css"),
});
const page = readFileSync(join(here, "index.html"), "utf8");
writeFileSync(join(out, "index.html"), page.replace("<!-- modulepreload -->", preloads.join("\n")));
