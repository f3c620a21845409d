'use strict';
/**
 * Fails the run when a test was skipped (it.skip, xit, a .only elsewhere in the file, todo): a skipped test proves
 * nothing. A test that needs an external resource says so in its name ("[needs MONGODB_URI]") and may be skipped.
 * Runs filtered with -t skip tests on purpose, so they are not checked.
 */
class NoSkipsReporter {
  constructor(globalConfig) {
    this.filtered = Boolean(globalConfig.testNamePattern);
    this.skipped = [];
  }

  onTestResult(_test, result) {
    for (const t of result.testResults)
      if (
        ['pending', 'skipped', 'todo', 'disabled'].includes(t.status) &&
        !/\[needs [^\]]+\]/.test(t.fullName)
      )
        this.skipped.push(`${result.testFilePath}: ${t.fullName}`);
  }

  getLastError() {
    if (this.filtered || this.skipped.length === 0) return undefined;
    return new Error(
      `${this.skipped.length} test(s) skipped without naming the resource they need ("[needs ...]"):\n  ${this.skipped.join('\n  ')}`,
    );
  }

  onRunComplete() {
    if (!this.filtered && this.skipped.length) process.stderr.write(`\n${this.getLastError().message}\n`);
  }
}

module.exports = NoSkipsReporter;
