'use strict'
// Where no addon fits (none beside the loader, no platform package installed), the
// package says which platform it was asked to run on, and which have addons.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

test('without an addon for the machine, the error names its platform', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-loader-'))
  try {
    for (const f of ['index.js', 'binding.js']) fs.copyFileSync(path.join(__dirname, '..', f), path.join(dir, f))
    const run = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(dir, 'index.js'))})`], { encoding: 'utf8' })
    assert.notEqual(run.status, 0)
    const libc = process.report.getReport().header.glibcVersionRuntime ? 'gnu' : 'musl'
    assert.match(run.stderr, new RegExp(`no addon for this machine \\(linux-${process.arch}-${libc}\\)`))
    assert.match(run.stderr, /linux-x64-gnu, linux-arm64-gnu, linux-x64-musl and linux-arm64-musl/)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
