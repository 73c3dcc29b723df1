import { parseDuration } from '../../definition/duration';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['90s', 90_000],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['3d', 259_200_000],
    ['1h30m', 5_400_000],
    ['1d2h3m4s5ms', 93_784_005],
    ['1.5h', 5_400_000],
  ])('reads the short form %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['PT2H', 7_200_000],
    ['P1DT2H30M5S', 95_405_000],
    ['PT0.5S', 500],
    ['P2W', 1_209_600_000],
    ['P1D', 86_400_000],
    ['PT15M', 900_000],
  ])('reads the ISO-8601 duration %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    '',
    '0s',
    'PT0S',
    '-5s',
    '5',
    '5x',
    '1h 30m',
    '30m1h',
    '1h1h',
    'P1Y',
    'P1M',
    'P',
    'PT',
    'P1DT',
    ' 5s',
    'soon',
    '0.0001ms',
    '99999999999999999d',
  ])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('rejects values that are not strings', () => {
    expect(parseDuration(5 as unknown as string)).toBeUndefined();
  });
});
