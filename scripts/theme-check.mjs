#!/usr/bin/env node
// Shopify theme-check on the theme app extension, with Shopify's own
// `theme-check:theme-app-extension` config: `node scripts/theme-check.mjs [folder]`.
// Prints one line per offense and exits 1 if there is any (errors, warnings and infos alike).
//
// It works offline and gives the same answer on every machine: theme-check normally
// downloads the latest Liquid docs and JSON schemas from GitHub at start-up; we point it
// (SHOPIFY_TLD_ROOT) at the copies bundled with the pinned package instead, and keep its
// download cache (XDG_CACHE_HOME) in a temporary folder.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const extensionRoot = path.resolve(process.argv[2] ?? path.join(projectRoot, 'theme_extension'));
const require = createRequire(path.join(projectRoot, 'package.json'));

// The layout theme-check expects at SHOPIFY_TLD_ROOT: data/<resource>.json, schemas/<uri>.
function bundledDocsRoot(workDir) {
  const bundled = path.join(path.dirname(require.resolve('@shopify/theme-check-docs-updater/package.json')), 'data');
  const root = path.join(workDir, 'docs');
  for (const folder of ['data', 'schemas', 'schemas/theme']) mkdirSync(path.join(root, folder), { recursive: true });
  for (const file of readdirSync(bundled)) {
    const into = file.startsWith('manifest_') ? 'schemas' : 'data';
    cpSync(path.join(bundled, file), path.join(root, into, file));
    cpSync(path.join(bundled, file), path.join(root, 'schemas/theme', file));
  }
  return root;
}

function describe(offense) {
  const where = path.relative(extensionRoot, fileURLToPath(offense.uri));
  const line = offense.start ? `:${offense.start.line + 1}:${offense.start.character + 1}` : '';
  const severity = ['error', 'warning', 'info'][offense.severity] ?? 'offense';
  return `${where}${line} ${severity} ${offense.check}: ${offense.message}`;
}

const workDir = mkdtempSync(path.join(tmpdir(), 'tessera-theme-check-'));
try {
  process.env.SHOPIFY_TLD_ROOT = bundledDocsRoot(workDir);
  process.env.XDG_CACHE_HOME = path.join(workDir, 'cache');
  // Imported only now: the library reads both variables when it loads.
  const { themeCheckRun } = require('@shopify/theme-check-node');
  const { theme, config, offenses } = await themeCheckRun(extensionRoot, 'theme-check:theme-app-extension');
  if (config.context !== 'app') throw new Error('theme-check did not pick the theme-app-extension config');
  for (const offense of offenses) console.log(describe(offense));
  console.log(`theme-check (theme-app-extension): ${theme.length} files, ${offenses.length} offenses`);
  process.exitCode = offenses.length ? 1 : 0;
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
