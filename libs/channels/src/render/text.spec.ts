import { escapeSlack, fitEscaped, truncateBytes, truncateChars } from './text';
import { dingtalkMobile } from './message';
import { HOSTILE_EVENTS, repeatTo } from '../testing/hostile';
import { SHAPES, renderShape } from '../testing/render-all';

describe('text limits', () => {
  it('never cuts an emoji sequence or a Chinese character in half', () => {
    const family = '👩‍👩‍👧';
    for (let max = 1; max < 20; max++) {
      const out = truncateChars(`ab${family}${family}中文`, max);
      expect(out.length).toBeLessThanOrEqual(max);
      expect(out.replace('…', '')).toMatch(/^(a|ab|ab(👩‍👩‍👧)*(中)?(文)?)?$/u);
    }
    for (let max = 1; max < 16; max++) {
      const out = truncateBytes('中文中文中文', max);
      expect(Buffer.byteLength(out)).toBeLessThanOrEqual(max);
      expect(Buffer.from(out).toString('utf8')).toBe(out);
    }
  });

  it('leaves short text alone and ends cut text with an ellipsis', () => {
    expect(truncateChars('short', 10)).toBe('short');
    expect(truncateChars('a'.repeat(20), 10)).toBe(`${'a'.repeat(9)}…`);
    expect(truncateBytes('中'.repeat(10), 10)).toBe('中中…');
  });

  it('ends a cut text with a hint when one is given, falling back to the bare ellipsis when it does not fit', () => {
    const hint = '… (more)';
    expect(truncateChars('a'.repeat(20), 12, hint)).toBe('aaaa… (more)');
    expect(truncateChars('a'.repeat(20), 5, hint)).toBe('aaaa…');
    expect(truncateBytes('中'.repeat(10), 18, '…（更多）')).toBe('中…（更多）');
    expect(truncateBytes('中'.repeat(10), 14, '…（更多）')).toBe('中中中…');
    const escaped = fitEscaped('<'.repeat(40), 40, escapeSlack, undefined, hint);
    expect(escaped.length).toBeLessThanOrEqual(40);
    expect(escaped).toMatch(/^(&lt;)+… \(more\)$/);
  });

  it('cuts before escaping so an entity is never split', () => {
    const out = fitEscaped('&&&&&&&&&&', 12, escapeSlack);
    expect(out.length).toBeLessThanOrEqual(12);
    expect(out).toMatch(/^(&amp;)+…$/);
  });

  it('reads phones as DingTalk mobiles', () => {
    expect(dingtalkMobile('+86 138-0000-0001')).toBe('13800000001');
    expect(dingtalkMobile('13800000002')).toBe('13800000002');
    expect(dingtalkMobile('+1 415 555 0100')).toBe('+1-4155550100');
    expect(dingtalkMobile('+852 6123 4567')).toBe('+852-61234567');
    expect(dingtalkMobile('n/a')).toBeNull();
    expect(dingtalkMobile(null)).toBeNull();
  });
});

describe('issue 10 item 5: the cutter works on a bounded prefix, so rendering is linear', () => {
  /** Code units handed to grapheme segmentation while `run` executes. */
  function segmented(run: () => void): number {
    const original = Intl.Segmenter.prototype.segment;
    let units = 0;
    const spy = jest.spyOn(Intl.Segmenter.prototype, 'segment').mockImplementation(function (this: Intl.Segmenter, input: string) {
      units += input.length;
      return original.call(this, input);
    });
    try {
      run();
    } finally {
      spy.mockRestore();
    }
    return units;
  }

  it('segments only about as much text as it keeps, whatever the input length', () => {
    const huge = '数据库a😀'.repeat(16_384);
    expect(segmented(() => truncateChars(huge, 100))).toBeLessThan(200);
    expect(segmented(() => truncateBytes(huge, 300))).toBeLessThan(400);
    expect(segmented(() => fitEscaped('<'.repeat(65_536), 3000, escapeSlack))).toBeLessThan(4 * 3000 * 8);
  });

  it('rendering every channel costs the same for a 65 536-character description as for a 24 576-character one', () => {
    const withDescription = (chars: number) => ({ ...HOSTILE_EVENTS['max-zh'], description: repeatTo('a<b> & "c" 数据 😀\n', chars) });
    const all = (chars: number) => segmented(() => SHAPES.forEach((shape) => renderShape(shape, withDescription(chars))));
    const small = all(24_576);
    expect(all(65_536)).toBeLessThanOrEqual(small * 1.05);
  });
});
