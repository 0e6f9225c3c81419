// A remote fediverse account built on Fedify, for Steppe's interoperability tests. Fedify verifies every
// signature and parses every activity with its own code; this script records what passed, and takes commands on
// /control/* so that the Rust test (tests/interop.rs) can drive the whole story over loopback.
//
// Usage: node peer.mjs PORT   (prints "ready" when it listens on 127.0.0.1:PORT as http://localhost:PORT)

import http from "node:http";
import { Temporal } from "@js-temporal/polyfill";
import { createFederation, generateCryptoKeyPair, MemoryKvStore, parseNodeInfo } from "@fedify/fedify";
import { preloadedContexts } from "@fedify/vocab-runtime";
import jsonld from "jsonld";
import WebFinger from "webfinger.js";
import {
  Accept, Announce, Article, Create, CryptographicKey, Delete, Endpoints, Follow, Like, Mention, Move, Note, Person,
  PUBLIC_COLLECTION, Reject, Tombstone, Undo, Update,
} from "@fedify/fedify/vocab";

const port = Number(process.argv[2]);
const origin = `http://localhost:${port}`;
// Fedify 2.3 verifies RFC 9421 signatures (Ed25519 included) only with keys listed under an actor's `publicKey`,
// while Mastodon finds Ed25519 keys where FEP-521a puts them: Multikeys in `assertionMethod`. This key store
// answers Fedify's key cache as Mastodon would look the key up: a key id that is not known yet and names a Multikey
// of its actor (fetched and parsed by Fedify, its `controller` the actor) is handed to Fedify as that actor's key.
// Everything else (the document, the multibase, the signature base, the Ed25519 check) is Fedify's own code.
class Fep521aKeyStore extends MemoryKvStore {
  async get(key) {
    const value = await super.get(key);
    if (value !== undefined || key.length !== 3 || key[0] !== "_fedify" || key[1] !== "publicKey") return value;
    const keyId = key[2];
    try {
      const actorUrl = new URL(keyId);
      if (actorUrl.hash === "") return value;
      actorUrl.hash = "";
      const ctx = context();
      const actor = await ctx.lookupObject(actorUrl.href, { documentLoader: ctx.documentLoader });
      if (actor == null || typeof actor.getAssertionMethods !== "function") return value;
      for await (const method of actor.getAssertionMethods({ documentLoader: ctx.documentLoader })) {
        if (method.id?.href !== keyId || method.controllerId?.href !== actor.id?.href) continue;
        multikeysFound.push(keyId);
        const asKey = new CryptographicKey({ id: method.id, owner: actor.id, publicKey: method.publicKey });
        return await asKey.toJsonLd();
      }
    } catch (e) {
      console.error("FEP-521a key lookup failed:", e);
    }
    return value;
  }
}
// The key ids found as FEP-521a Multikeys.
const multikeysFound = [];
const federation = createFederation({ kv: new Fep521aKeyStore(), allowPrivateAddress: true, origin });
const keyPairs = [await generateCryptoKeyPair("RSASSA-PKCS1-v1_5")];
const received = [];
// How each POST to an inbox was signed and what Fedify answered: { scheme, alg, keyId, status }.
const signatures = [];
const state = { blog: null, follow: null, following: new Set(), oldMovedTo: null };
// What the peer did with each Move it received, as Mastodon's Move handling would.
const moves = [];

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    // "peer" follows and replies; "old" is an account of the peer's that moves to a Steppe blog.
    if (identifier !== "peer" && identifier !== "old") return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: identifier === "peer" ? "Fedify Peer" : "Fedify Old Account",
      successor: identifier === "old" ? state.oldMovedTo : null,
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((k) => k.multikey),
    });
  })
  .setKeyPairsDispatcher(async () => keyPairs);

// What an object looked like to Fedify: the members the test checks.
async function describe(ctx, object) {
  if (object == null) return null;
  const tags = [];
  if (typeof object.getTags === "function") {
    for await (const tag of object.getTags({ documentLoader: ctx.documentLoader })) {
      tags.push({ type: tag.constructor.name, name: tag.name?.toString() ?? null, href: tag.href?.href ?? null });
    }
  }
  const imageOf = (i) => i == null ? null : ({
    type: i.constructor.name,
    mediaType: i.mediaType ?? null,
    url: i.url?.href ?? null,
    name: i.name?.toString() ?? null,
    width: i.width ?? null,
    height: i.height ?? null,
  });
  const attachments = [];
  if (typeof object.getAttachments === "function") {
    for await (const a of object.getAttachments({ documentLoader: ctx.documentLoader })) attachments.push(imageOf(a));
  }
  const image = typeof object.getImage === "function"
    ? imageOf(await object.getImage({ documentLoader: ctx.documentLoader }))
    : null;
  return {
    id: object.id?.href ?? null,
    type: object.constructor.name,
    attachments,
    image,
    name: object.name?.toString() ?? null,
    summary: object.summary?.toString() ?? null,
    content: object.content?.toString() ?? null,
    url: object.url?.href ?? null,
    inReplyTo: object.replyTargetId?.href ?? null,
    attributedTo: object.attributionId?.href ?? null,
    published: object.published?.toString() ?? null,
    updated: object.updated?.toString() ?? null,
    tags,
  };
}

async function record(ctx, activity) {
  let object = null;
  try {
    object = await describe(ctx, await activity.getObject({ documentLoader: ctx.documentLoader }));
  } catch (e) {
    object = { error: String(e), id: activity.objectId?.href ?? null };
  }
  received.push({
    type: activity.constructor.name,
    id: activity.id?.href ?? null,
    actor: activity.actorId?.href ?? null,
    objectId: activity.objectId?.href ?? null,
    object,
  });
}

// A Move, handled as Mastodon does (app/lib/activitypub/activity/move.rb, MoveWorker, UnfollowFollowWorker): only
// an account moving itself; only when the peer follows it; the target fetched now must list the origin in
// alsoKnownAs; then the peer follows the target and unfollows the origin.
async function onMove(ctx, move) {
  await record(ctx, move);
  const origin = move.actorId?.href ?? null;
  const done = (result, extra = {}) => moves.push({ origin, target: move.targetId?.href ?? null, result, ...extra });
  if (origin == null || move.objectId?.href !== origin) return done("the object is not the actor");
  const followed = state.blog?.id?.href === origin || state.following.has(origin);
  if (!followed) return done("the peer does not follow the origin");
  const target = await ctx.lookupObject(move.targetId, { documentLoader: ctx.documentLoader });
  if (target == null) return done("the target cannot be fetched");
  const aliases = (target.aliasIds ?? []).map((u) => u.href);
  if (!aliases.includes(origin)) return done("the target does not list the origin", { aliases });
  const follow = new Follow({ id: newId("follows"), actor: me(), object: target.id });
  await ctx.sendActivity({ identifier: "peer" }, target, follow);
  if (state.blog?.id?.href === origin && state.follow != null) {
    await ctx.sendActivity({ identifier: "peer" }, state.blog, new Undo({ id: newId("undos"), actor: me(), object: state.follow }));
  }
  state.following.delete(origin);
  state.blog = target;
  state.follow = follow;
  done("followed the target");
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Accept, record).on(Reject, record).on(Create, record).on(Update, record)
  .on(Delete, record).on(Announce, record).on(Like, record).on(Undo, record).on(Move, onMove);

function context() {
  return federation.createContext(new URL(origin), undefined);
}

const me = () => new URL(`${origin}/users/peer`);
const newId = (kind) => new URL(`${origin}/${kind}/${crypto.randomUUID()}`);
const notes = new Map();
// The raw bodies of the activities that arrived at the inboxes, for JSON-LD validation.
const rawInbox = [];

// An offline JSON-LD document loader: Fedify's preloaded contexts, nothing fetched.
async function offlineLoader(url) {
  const document = preloadedContexts[url];
  if (document == null) throw new Error(`context not available offline: ${url}`);
  return { contextUrl: null, documentUrl: url, document };
}

// Property names that expanded to blank-node IRIs: the ActivityStreams context maps every term it does not define
// to `_:term` (its @vocab), so these are the terms no context defines.
function undefinedTerms(value, found = new Set()) {
  if (Array.isArray(value)) {
    for (const v of value) undefinedTerms(v, found);
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k.startsWith("_:")) found.add(k.slice(2));
      undefinedTerms(v, found);
    }
  }
  return found;
}

// Expands a document in jsonld.js's safe mode, which fails on anything that would be silently dropped (relative
// IRIs, invalid values, terms without a mapping), and refuses terms that only the ActivityStreams @vocab catches.
// Returns null when it passes, else the error.
async function expandSafely(document) {
  try {
    const expanded = await jsonld.expand(document, { documentLoader: offlineLoader, safe: true });
    if (!Array.isArray(expanded) || expanded.length === 0) return "expands to nothing";
    const unknown = [...undefinedTerms(expanded)];
    if (unknown.length > 0) return `terms no context defines: ${unknown.join(", ")}`;
    return null;
  } catch (e) {
    return String(e?.details?.event?.message ?? e?.message ?? e);
  }
}

// NodeInfo 2.1 as its schema (nodeinfo.diaspora.software/ns/schema/2.1) requires it.
function nodeInfoSchemaErrors(n) {
  const errors = [];
  const protocols = ["activitypub", "buddycloud", "dfrn", "diaspora", "libertree", "ostatus", "pumpio", "tent", "xmpp", "zot"];
  if (n.version !== "2.1") errors.push("version is not 2.1");
  if (!/^[a-z0-9-]+$/.test(n.software?.name ?? "")) errors.push("software.name must match ^[a-z0-9-]+$");
  if (typeof n.software?.version !== "string") errors.push("software.version must be a string");
  if (!Array.isArray(n.protocols) || n.protocols.length < 1 || !n.protocols.every((p) => protocols.includes(p))) errors.push("protocols");
  if (!Array.isArray(n.services?.inbound) || !Array.isArray(n.services?.outbound)) errors.push("services.inbound/outbound");
  if (typeof n.openRegistrations !== "boolean") errors.push("openRegistrations must be a boolean");
  if (typeof n.usage?.users !== "object") errors.push("usage.users must be an object");
  for (const k of ["total", "activeHalfyear", "activeMonth"]) {
    const v = n.usage?.users?.[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= 0)) errors.push(`usage.users.${k}`);
  }
  for (const k of ["localPosts", "localComments"]) {
    const v = n.usage?.[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= 0)) errors.push(`usage.${k}`);
  }
  if (typeof n.metadata !== "object" || n.metadata === null) errors.push("metadata must be an object");
  const allowed = ["version", "software", "protocols", "services", "openRegistrations", "usage", "metadata"];
  for (const k of Object.keys(n)) if (!allowed.includes(k)) errors.push(`unknown member ${k}`);
  return errors;
}

// Fedify's lookupWebFinger forces https for acct: handles; over loopback the handle is resolved here, over http.
async function resolve(handle) {
  const [, user, host] = handle.match(/^@?([^@]+)@(.+)$/) ?? [];
  const wf = await fetch(`http://${host}/.well-known/webfinger?resource=acct:${user}@${host}`);
  if (!wf.ok) throw new Error(`WebFinger answered ${wf.status}`);
  const jrd = await wf.json();
  const self = jrd.links.find((l) => l.rel === "self");
  const actor = await context().lookupObject(self.href);
  if (actor == null) throw new Error(`cannot look up ${self.href}`);
  return actor;
}

async function send(activity) {
  await context().sendActivity({ identifier: "peer" }, state.blog, activity);
}

const commands = {
  // Fetches each document and expands it offline in safe mode; also every activity body received so far.
  async validate({ documents }) {
    const results = [];
    for (const { name, url } of documents) {
      const r = await fetch(url, { headers: { accept: "application/activity+json" } });
      const error = r.ok ? await expandSafely(await r.json()) : `HTTP ${r.status}`;
      results.push({ name, url, ok: error == null, error });
    }
    const seen = new Set();
    for (const body of rawInbox) {
      const doc = JSON.parse(body);
      const name = `received ${doc.type}${doc.object?.type ? `{${doc.object.type}}` : ""}`;
      if (seen.has(name)) continue;
      seen.add(name);
      const error = await expandSafely(doc);
      results.push({ name, url: doc.id, ok: error == null, error });
    }
    return results;
  },
  // NodeInfo through Fedify's strict parser and the 2.1 schema's rules.
  async nodeinfo({ base }) {
    const links = await (await fetch(`${base}/.well-known/nodeinfo`)).json();
    const href = links.links.find((l) => l.rel === "http://nodeinfo.diaspora.software/ns/schema/2.1")?.href;
    const json = await (await fetch(href)).json();
    const parsed = parseNodeInfo(json, { tryBestEffort: false });
    return {
      href,
      fedify: parsed != null,
      schemaErrors: nodeInfoSchemaErrors(json),
      software: parsed?.software?.name ?? null,
    };
  },
  // WebFinger as webfinger.js reads it (private addresses allowed), then the JRD's subject, content type and
  // self link, which Fedify must resolve to an actor.
  async webfinger({ handle }) {
    const [, user, host] = handle.match(/^@?([^@]+)@(.+)$/) ?? [];
    const errors = [];
    try {
      const result = await new WebFinger({ tls_only: false, allow_private_addresses: true }).lookup(`${user}@${host}`);
      if (result?.object?.subject == null) errors.push("webfinger.js found no subject");
    } catch (e) {
      errors.push(`webfinger.js: ${e?.message ?? e}`);
    }
    const r = await fetch(`http://${host}/.well-known/webfinger?resource=acct:${user}@${host}`);
    const jrd = await r.json();
    if (!(r.headers.get("content-type") ?? "").startsWith("application/jrd+json")) errors.push("content-type is not application/jrd+json");
    if (jrd.subject !== `acct:${user}@${host}`) errors.push(`subject is ${jrd.subject}`);
    const self = (jrd.links ?? []).find((l) => l.rel === "self" && l.type === "application/activity+json");
    if (self == null) errors.push("no self link of type application/activity+json");
    for (const l of jrd.links ?? []) {
      if (typeof l.rel !== "string") errors.push("a link without rel");
      for (const [k, v] of Object.entries(l)) if (v === null) errors.push(`link ${l.rel} has a null ${k}`);
    }
    const actor = self ? await context().lookupObject(self.href) : null;
    if (self && actor == null) errors.push("the self link does not resolve to an actor");
    return { errors, actor: actor?.id?.href ?? null };
  },
  async follow({ handle }) {
    state.blog = await resolve(handle);
    state.follow = new Follow({ id: newId("follows"), actor: me(), object: state.blog.id });
    await send(state.follow);
    return { blog: state.blog.id.href, name: state.blog.name?.toString() ?? null };
  },
  // The peer's "old" account, which the peer follows, moves to the account `handle` (a Steppe blog that lists it in
  // alsoKnownAs): the Move goes, signed by "old", to the peer's inbox, which handles it as Mastodon would.
  async moveOld({ handle }) {
    const target = await resolve(handle);
    const old = new URL(`${origin}/users/old`);
    state.following.add(old.href);
    state.oldMovedTo = target.id;
    const move = new Move({ id: newId("moves"), actor: old, object: old, target: target.id });
    await context().sendActivity({ identifier: "old" }, { id: me(), inboxId: new URL(`${origin}/users/peer/inbox`) }, move);
    return { old: old.href, target: target.id.href };
  },
  async moves() {
    return moves;
  },
  async unfollow() {
    await send(new Undo({ id: newId("undos"), actor: me(), object: state.follow }));
    return {};
  },
  async reply({ inReplyTo, content }) {
    const note = new Note({
      id: newId("notes"), attribution: me(), replyTarget: new URL(inReplyTo), content,
      to: PUBLIC_COLLECTION, cc: state.blog.id, published: Temporal.Now.instant(),
      tags: [new Mention({ href: state.blog.id, name: `@blog` })],
    });
    notes.set(note.id.href, note);
    await send(new Create({ id: newId("creates"), actor: me(), object: note, to: PUBLIC_COLLECTION, cc: state.blog.id }));
    return { id: note.id.href };
  },
  async edit({ id, content }) {
    const note = notes.get(id).clone({ content, updated: Temporal.Now.instant() });
    notes.set(id, note);
    await send(new Update({ id: newId("updates"), actor: me(), object: note, to: PUBLIC_COLLECTION }));
    return {};
  },
  async delete({ id }) {
    await send(new Delete({ id: newId("deletes"), actor: me(), object: new Tombstone({ id: new URL(id) }), to: PUBLIC_COLLECTION }));
    return {};
  },
  async like({ object }) {
    await send(new Like({ id: newId("likes"), actor: me(), object: new URL(object) }));
    return {};
  },
  async announce({ object }) {
    await send(new Announce({ id: newId("announces"), actor: me(), object: new URL(object), to: PUBLIC_COLLECTION }));
    return {};
  },
};

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, origin);
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    if (url.pathname === "/control/received") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(received));
      return;
    }
    if (url.pathname === "/control/signatures") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ signatures, multikeysFound }));
      return;
    }
    if (url.pathname.startsWith("/control/")) {
      const command = commands[url.pathname.slice("/control/".length)];
      if (command == null) {
        res.writeHead(404).end();
        return;
      }
      const result = await command(body.length ? JSON.parse(body) : {});
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(result));
      return;
    }
    if (req.method === "POST" && url.pathname.endsWith("/inbox")) rawInbox.push(body.toString("utf8"));
    const request = new Request(url, {
      method: req.method,
      headers: Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : v]),
      body: ["GET", "HEAD"].includes(req.method) ? undefined : body,
    });
    const response = await federation.fetch(request, { contextData: undefined });
    if (req.method === "POST" && url.pathname.endsWith("/inbox")) {
      const input = req.headers["signature-input"] ?? null;
      const param = (name) => input?.match(new RegExp(`;${name}="([^"]*)"`))?.[1] ?? null;
      const cavageKey = req.headers["signature"]?.match(/keyId="([^"]*)"/)?.[1] ?? null;
      signatures.push({
        scheme: input == null ? "draft-cavage" : "rfc9421",
        alg: input == null ? null : param("alg"),
        keyId: input == null ? cavageKey : param("keyid"),
        status: response.status,
      });
    }
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (e) {
    console.error(e);
    res.writeHead(500, { "content-type": "text/plain" });
    res.end(String(e?.stack ?? e));
  }
});
server.listen(port, "127.0.0.1", () => console.log("ready"));
