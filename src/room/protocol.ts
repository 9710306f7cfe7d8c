// Every line the server sends, in one place: PROTOCOL.md documents exactly these.

/** Nicks: 1–24 of A-Z a-z 0-9 _ -, unique ignoring case. */
export const NICK_PATTERN = /^[A-Za-z0-9_-]{1,24}$/;

/** Nicks that would read as the server speaking: `[server] shutting down`. Lower case. */
export const RESERVED_NICKS: ReadonlySet<string> = new Set(['server', 'selectchat']);

/** What no chat line may carry to another member's terminal: C0 controls but TAB (CR, ESC, BEL…),
 *  DEL, C1 controls, and the bidi overrides and isolates that reorder what a terminal shows. */
export const CONTROL_CHARACTERS = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

export const HELP = '* commands: /nick NAME, /who, /me ACTION, /quit [REASON], /help';
export const SHUTTING_DOWN = '* server shutting down';

/** Exactly the protocol's words, "1 users online" included: clients match this line. */
export const welcome = (nick: string, online: number): string =>
  `* welcome ${nick}, ${online} users online; /help for commands`;
export const joined = (nick: string): string => `* ${nick} joined`;
export const left = (nick: string, reason: string): string => `* ${nick} left (${reason})`;
export const renamed = (from: string, to: string): string => `* ${from} is now ${to}`;
/** An action (/me) is a member's words like a message, so it can never read as a server event:
 *  every line a member causes starts with `[NICK] `, every server event with `* `. */
export const action = (nick: string, text: string): string => `[${nick}] *${text}*`;
export const users = (nicks: string[]): string => `* users: ${nicks.join(', ')}`;
export const message = (nick: string, text: string): string => `[${nick}] ${text}`;

// Errors: sent only to the client that caused them.
export const lineTooLong = (maxBytes: number): string => `! line too long (max ${maxBytes} bytes)`;
export const INVALID_UTF8 = '! invalid UTF-8, line dropped';
export const NICK_TAKEN = '! nick taken';
export const INVALID_NICK = '! invalid nick';
export const NICK_RESERVED = '! nick reserved';
export const CONTROL_CHARACTERS_REFUSED = '! control characters are not allowed, line dropped';
export const ME_USAGE = '! usage: /me ACTION';
export const SERVER_FULL = '! server full';
export const unknownCommand = (command: string): string => `! unknown command ${command} (try /help)`;

// A node of a cluster (`serve --redis`) also says these.
/** To this node's members, once, when the cluster (Redis) becomes unreachable. */
export const CLUSTER_UNREACHABLE = "* the cluster is unreachable: only this server's members hear you now";
/** To this node's members when it has rejoined the cluster. */
export const CLUSTER_BACK = "* the cluster is back: every server's members hear you again";
/** Leave reason: the member's node stopped beating (killed, hung, cut off). */
export const NODE_LOST = 'node lost';
/** Leave reason: the member left while this node and the member's node could not hear each other. */
export const LEFT_WHILE_APART = 'while the servers were apart';
export const NICK_NEEDS_CLUSTER = '! nick changes need the cluster, which is unreachable: try again later';
export const TOO_MANY_WAITING = '! too many lines while the server was busy with your last command, line dropped';
