// Builds the cockpit app into ../src/coven/cockpit/static (app.js, app.css, index.html).
// Run through build.sh, which installs the pinned packages first and stamps the manifest.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "src", "coven", "cockpit", "static");
mkdirSync(out, { recursive: true });

const common = {
  bundle: true,
  minify: true,
  legalComments: "eof",
  logLevel: "info",
  target: ["chrome110", "firefox115", "safari16"],
};
await esbuild.build({
  ...common,
  entryPoints: [join(here, "src", "main.ts")],
  format: "iife",
  outfile: join(out, "app.js"),
});
await esbuild.build({
  ...common,
  entryPoints: [join(here, "src", "styles.css")],
  outfile: join(out, "app.css"),
});
copyFileSync(join(here, "index.html"), join(out, "index.html"));
