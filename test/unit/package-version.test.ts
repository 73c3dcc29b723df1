import { readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '../..');

/** The versions the README's changelog names (`- **0.5.0** — …`), newest first as written; "Unreleased" entries left out. */
function changelogVersions(): string[] {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const changelog = readme.slice(readme.indexOf('\n## Changelog\n'));
  return [...changelog.matchAll(/^- \*\*(\d+\.\d+\.\d+)\*\*/gm)].map((match) => match[1]!);
}

describe('the package version', () => {
  it("is the newest version of the README's changelog, in package.json and package-lock.json", () => {
    const versions = changelogVersions();
    expect(versions.length).toBeGreaterThan(0);
    const newest = versions[0];
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
    const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
    expect({ package: pkg.version, lock: lock.version, lockRoot: lock.packages[''].version }).toEqual({ package: newest, lock: newest, lockRoot: newest });
  });

  it('lists the changelog newest first', () => {
    const versions = changelogVersions();
    const numeric = (version: string) => version.split('.').map(Number);
    const sorted = [...versions].sort((a, b) => {
      const [x, y] = [numeric(a), numeric(b)];
      return y[0]! - x[0]! || y[1]! - x[1]! || y[2]! - x[2]!;
    });
    expect(versions).toEqual(sorted);
  });
});
