// Printed commands: started the way the user started dcgan, each argument as a shell reads it back.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { invocation, shellQuote } from '../src/util/shell.js';

const at = (argv1: string, env: Record<string, string> = {}, execArgv: string[] = [], cwd = '/home/u/proj') =>
  invocation({ env, argv: ['/usr/bin/node', argv1], execArgv, cwd });

test('npx, the local bin of npm scripts, node with a path, a global install', () => {
  assert.equal(at('/home/u/proj/node_modules/.bin/dcgan', { npm_command: 'exec' }), 'npx dcgan');
  assert.equal(at('/home/u/proj/node_modules/.bin/dcgan'), 'npx dcgan'); // an npm script running `dcgan train`
  assert.equal(at('/home/u/.npm/_npx/1a2b/node_modules/.bin/dcgan', { npm_command: 'exec' }), 'npx dcgan');
  assert.equal(at('/home/u/proj/dist/cli.js'), 'node dist/cli.js');
  assert.equal(at('/opt/dcgan/dist/cli.js'), 'node /opt/dcgan/dist/cli.js'); // outside the working folder: absolute
  assert.equal(at('/home/u/my proj/dist/cli.js', {}, [], '/tmp'), "node '/home/u/my proj/dist/cli.js'");
  assert.equal(at('/home/u/proj/src/cli.ts', {}, ['--import', 'tsx']), 'node --import tsx src/cli.ts');
  assert.equal(at('/usr/local/bin/dcgan'), 'dcgan');
  // a program that imports dcgan's modules is not dcgan's CLI
  assert.equal(at('/home/u/proj/test/x.test.ts'), 'dcgan');
});

test('arguments with spaces or shell characters are quoted so that the shell gives them back unchanged', () => {
  assert.equal(shellQuote('checkpoints/pokesprite-64'), 'checkpoints/pokesprite-64');
  assert.equal(shellQuote(12), '12');
  assert.equal(shellQuote('my runs/a'), "'my runs/a'");
  for (const s of ['my runs/a', "it's", 'a$b', 'x;rm -rf y', 'a"b', '*', '', 'tab\there', 'new\nline', '~/x', 'a&b|c', '(x)']) {
    const echoed = execFileSync('/bin/sh', ['-c', `printf %s ${shellQuote(s)}`], { encoding: 'utf8' });
    assert.equal(echoed, s, `quoted as ${shellQuote(s)}`);
  }
});
