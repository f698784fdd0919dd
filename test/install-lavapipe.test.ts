// scripts/install-lavapipe.sh takes bookworm-backports from the mirror the machine already uses: the apt source it adds
// is the machine's own bookworm entry with the suite changed. Its --print-source mode prints that source (file name,
// then content) for the apt configuration under $APT_ETC, without root and without writing; these apt folders are
// written by hand in both of apt's formats (sources.list(5): one-line and deb822).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { tmpDir } from './helpers.js';

const SCRIPT = path.resolve('scripts/install-lavapipe.sh');

/** An apt folder holding these files (paths under it), and what the script prints for it. */
async function printSource(files: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const etc = await tmpDir('dcgan-apt-');
  await mkdir(path.join(etc, 'sources.list.d'));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(etc, name), text);
  const r = spawnSync('sh', [SCRIPT, '--print-source'], { env: { ...process.env, APT_ETC: etc }, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('deb822: the bookworm stanza with its mirror and key, the suite changed; security and comments left out', async () => {
  const r = await printSource({
    'sources.list.d/debian.sources': [
      'Types: deb',
      '# http://snapshot.debian.org/archive/debian/20250520T000000Z',
      'URIs: http://mirror.example.org/debian',
      'Suites: bookworm bookworm-updates',
      'Components: main contrib',
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
      '',
      'Types: deb',
      'URIs: http://mirror.example.org/debian-security',
      'Suites: bookworm-security',
      'Components: main',
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
      '',
    ].join('\n'),
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, [
    'bookworm-backports.sources',
    'Types: deb',
    'URIs: http://mirror.example.org/debian',
    'Suites: bookworm-backports',
    'Components: main',
    'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
    '',
  ].join('\n'));
});

test('deb822: a disabled or deb-src-only stanza is passed over; an inline key and other options are kept', async () => {
  const r = await printSource({
    'sources.list.d/a-off.sources': 'Enabled: no\nTypes: deb\nURIs: http://off.example.org/debian\nSuites: bookworm\nComponents: main\n',
    'sources.list.d/b-src.sources': 'Types: deb-src\nURIs: http://src.example.org/debian\nSuites: bookworm\nComponents: main\n',
    'sources.list.d/c-proxy.sources': [
      'Types: deb deb-src',
      'URIs: http://apt-cache.internal:3142/debian',
      'Suites: bookworm',
      'Components: main non-free-firmware',
      'Architectures: amd64',
      'Signed-By:',
      ' -----BEGIN PGP PUBLIC KEY BLOCK-----',
      ' .',
      ' mQINBGQ=',
      ' -----END PGP PUBLIC KEY BLOCK-----',
      '',
    ].join('\n'),
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, [
    'bookworm-backports.sources',
    'Types: deb',
    'URIs: http://apt-cache.internal:3142/debian',
    'Suites: bookworm-backports',
    'Components: main',
    'Architectures: amd64',
    'Signed-By:',
    ' -----BEGIN PGP PUBLIC KEY BLOCK-----',
    ' .',
    ' mQINBGQ=',
    ' -----END PGP PUBLIC KEY BLOCK-----',
    '',
  ].join('\n'));
});

test('one-line sources.list: the bookworm line with its options and mirror, the suite changed, component main', async () => {
  const r = await printSource({
    'sources.list': [
      '# deb http://commented.example.org/debian bookworm main',
      'deb-src http://ftp.example.de/debian bookworm main',
      'deb [arch=amd64 signed-by=/etc/apt/keyrings/debian.gpg] http://ftp.example.de/debian bookworm main contrib # the main one',
      'deb http://ftp.example.de/debian-security bookworm-security main',
      '',
    ].join('\n'),
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout,
    'bookworm-backports.list\ndeb [arch=amd64 signed-by=/etc/apt/keyrings/debian.gpg] http://ftp.example.de/debian bookworm-backports main\n');
});

test('an enabled bookworm-backports entry already there: nothing to add; a commented or disabled one does not count', async () => {
  const present = await printSource({
    'sources.list': 'deb http://deb.debian.org/debian bookworm main\n',
    'sources.list.d/backports.list': 'deb http://deb.debian.org/debian bookworm-backports main\n',
  });
  assert.equal(present.status, 0, present.stderr);
  assert.equal(present.stdout, 'present\n');

  const absent = await printSource({
    'sources.list': 'deb http://mirror.example.org/debian bookworm main\n#deb http://deb.debian.org/debian bookworm-backports main\n',
    'sources.list.d/backports.sources': 'Types: deb\nEnabled: no\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\n',
    'sources.list.d/backports.list.disabled': 'deb http://deb.debian.org/debian bookworm-backports main\n',
  });
  assert.equal(absent.status, 0, absent.stderr);
  assert.equal(absent.stdout, 'bookworm-backports.list\ndeb http://mirror.example.org/debian bookworm-backports main\n');
});

test('no bookworm entry to take a mirror from: one line naming the folder, non-zero exit', async () => {
  const r = await printSource({
    'sources.list': 'deb http://deb.debian.org/debian-security bookworm-security main\n',
    'sources.list.d/old.list.disabled': 'deb http://deb.debian.org/debian bookworm main\n',
  });
  assert.notEqual(r.status, 0);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^install-lavapipe: no apt source for Debian bookworm in .*sources\.list.d\/ to take the mirror from\n$/);
});
