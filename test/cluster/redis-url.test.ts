// --redis URLs: the forms accepted, the clear errors, and a password that is never shown.
import { describe, expect, it } from 'vitest';
import { parseRedisUrl, redactUrl, RedisUrlError, scrubPassword } from '../../src/cluster/redis-url.js';

describe('parseRedisUrl', () => {
  it.each([
    ['redis://127.0.0.1:6380', { host: '127.0.0.1', port: 6380, shown: 'redis://127.0.0.1:6380' }],
    ['redis://localhost', { host: 'localhost', port: 6379, shown: 'redis://localhost' }],
    ['redis://[::1]:7000', { host: '::1', port: 7000, shown: 'redis://[::1]:7000' }],
    ['redis://:s3cret@10.0.0.5:6379/2', { host: '10.0.0.5', port: 6379, password: 's3cret', database: 2, shown: 'redis://:***@10.0.0.5:6379/2' }],
    ['redis://ann:p%40ss@h:1', { host: 'h', port: 1, username: 'ann', password: 'p@ss', shown: 'redis://ann:***@h:1' }],
    ['unix:///run/redis/r.sock', { path: '/run/redis/r.sock', shown: 'unix:///run/redis/r.sock' }],
    ['unix:///tmp/r.sock?password=pw&db=3', { path: '/tmp/r.sock', password: 'pw', database: 3, shown: 'unix:///tmp/r.sock?password=***&db=3' }],
  ])('%s', (text, expected) => {
    expect(parseRedisUrl(text)).toEqual(expected);
  });

  it.each([
    ['not a url', /--redis must be redis:\/\//],
    ['http://h:1', /unknown scheme 'http:'/],
    ['redis://h:1/x', /the database must be a number/],
    ['redis://h:99999', /--redis must be/],
    ['unix:///', /no socket path/],
    ['unix:///s?color=red', /unknown parameter 'color'/],
  ])('refuses %s with a clear message', (text, message) => {
    expect(() => parseRedisUrl(text)).toThrow(RedisUrlError);
    expect(() => parseRedisUrl(text)).toThrow(message);
  });

  it('never puts the password in an error message', () => {
    for (const text of ['redis://:hunter2@h:1/x', 'redis://:hunter2@h:99999', 'redis://:hun@ter2@h:1/db', 'unix:///?password=hunter2', 'redis://hunter2@h:1/x']) {
      let message = '';
      try {
        parseRedisUrl(text);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message, text).not.toBe('');
      expect(message, text).not.toMatch(/hunter2|ter2/);
    }
  });
});

describe('redactUrl and scrubPassword', () => {
  it('hide the password of every URL in a text, and the password anywhere', () => {
    expect(redactUrl('at redis://:pw@h:1 and rediss://u:pw@h:2, unix:///s?db=1&password=pw')).toBe(
      'at redis://:***@h:1 and rediss://u:***@h:2, unix:///s?db=1&password=***',
    );
    const endpoint = parseRedisUrl('redis://:p%2Fw@h:1');
    expect(scrubPassword('WRONGPASS for p/w and p%2Fw', endpoint)).toBe('WRONGPASS for *** and ***');
  });
});
