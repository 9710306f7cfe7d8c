// What a member's line means, for both rooms (the single process's and the cluster's): the
// checks and the command table live here once, so the two cannot answer differently.
import * as line from './protocol.js';

/** What a room does for each kind of line; dispatch() has already checked the line. */
export interface LineHandlers<M> {
  say(member: M, text: string): void;
  act(member: M, action: string): void;
  /** NICK has passed checkNick(). */
  rename(member: M, nick: string): void;
  who(member: M): void;
  quit(member: M, reason: string): void;
  help(member: M): void;
  /** An error line for the sender only. */
  reply(member: M, text: string): void;
}

/** One complete line from a member: a message, or a command if it starts with '/'. */
export function dispatch<M>(room: LineHandlers<M>, member: M, text: string): void {
  if (text.length === 0) return;
  // Refused whole, not cleaned: a line shown differently from what was typed could still mislead.
  if (line.CONTROL_CHARACTERS.test(text)) return room.reply(member, line.CONTROL_CHARACTERS_REFUSED);
  if (text.charCodeAt(0) !== 0x2f /* '/' */) return room.say(member, text);
  const space = text.indexOf(' ');
  const command = (space < 0 ? text : text.slice(0, space)).toLowerCase();
  const argument = space < 0 ? '' : text.slice(space + 1).trim();
  switch (command) {
    case '/nick': {
      const refused = nickRefusal(argument);
      return refused === null ? room.rename(member, argument) : room.reply(member, refused);
    }
    case '/who':
      return room.who(member);
    case '/me':
      return argument === '' ? room.reply(member, line.ME_USAGE) : room.act(member, argument);
    case '/quit':
      return room.quit(member, argument);
    case '/help':
      return room.help(member);
    default:
      return room.reply(member, line.unknownCommand(space < 0 ? text : text.slice(0, space)));
  }
}

/** The error line for a nick no one may take (malformed or reserved), or null. */
function nickRefusal(nick: string): string | null {
  if (!line.NICK_PATTERN.test(nick)) return line.INVALID_NICK;
  if (line.RESERVED_NICKS.has(nick.toLowerCase())) return line.NICK_RESERVED;
  return null;
}

/** The reason a /quit gives: `quit` or `quit: REASON`. */
export function quitReason(reason: string): string {
  return reason === '' ? 'quit' : `quit: ${reason}`;
}
