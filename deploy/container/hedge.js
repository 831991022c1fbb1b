#!/usr/bin/env node
// The images' launcher: the CLI compiled by tsc (deploy/container/tsconfig.build.json) into
// dist/, no TypeScript loader at run time. bin/hedge.js is the source checkout's launcher.
import { main } from '../dist/cli/main.js'
process.exitCode = await main(process.argv.slice(2))
