import { describe, expect, it } from 'vitest';
import { FD_SETSIZE, native } from '../../src/binding/native.js';

describe('addon', () => {
  it('loads and exports FD_SETSIZE', () => {
    expect(FD_SETSIZE).toBe(1024);
    expect(typeof native.Selector).toBe('function');
  });
});
