#!/usr/bin/env node
// `npm run bench [-- <what>]`:
//   (nothing)          the full suite: scenarios a–j, every contestant (bench/suite.mjs)
//   a … i, or a name   one or more scenarios: echo-32 echo-1k echo-64k echo-1m broadcast storm idle deflate
//                      idle-deflate
//   echo [flags]       an ad-hoc echo/broadcast run (bench/echo.mjs: --conns --size --inflight ...)
//   micro              the hot-path micro-benchmarks (bench/micro.mjs)
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const suites = { micro: 'micro.mjs', echo: 'echo.mjs' };
const argv = process.argv.slice(2);
const script = suites[argv[0]] ?? 'suite.mjs';
const rest = suites[argv[0]] ? argv.slice(1) : argv;
const here = dirname(fileURLToPath(import.meta.url));
const result = spawnSync(process.execPath, ['--expose-gc', join(here, script), ...rest], { stdio: 'inherit' });
process.exit(result.status ?? 1);
