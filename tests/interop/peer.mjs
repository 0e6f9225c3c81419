// A remote fediverse account built on Fedify, for Steppe's interoperability tests. Fedify verifies every
// signature and parses every activity with its own code; this script records what passed, and takes commands on
// /control/* so that the Rust test (tests/interop.rs) can drive the whole story over loopback.
//
// Usage: node peer.mjs PORT   (prints "ready" when it listens on 127.0.0.1:PORT as http://localhost:PORT)

import http from "node:http";
import { Temporal } from "@js-temporal/polyfill";
import { createFederation, generateCryptoKeyPair, MemoryKvStore } from "@fedify/fedify";
import {
  Accept, Announce, Article, Create, Delete, Endpoints, Follow, Like, Mention, Note, Person, PUBLIC_COLLECTION,
  Reject, Tombstone, Undo, Update,
} from "@fedify/fedify/vocab";

const port = Number(process.argv[2]);
const origin = `http://localhost:${port}`;
const federation = createFederation({ kv: new MemoryKvStore(), allowPrivateAddress: true, origin });
const keyPairs = [await generateCryptoKeyPair("RSASSA-PKCS1-v1_5")];
const received = [];
const state = { blog: null, follow: null };

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== "peer") return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Fedify Peer",
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
  return {
    id: object.id?.href ?? null,
    type: object.constructor.name,
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

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Accept, record).on(Reject, record).on(Create, record).on(Update, record)
  .on(Delete, record).on(Announce, record).on(Like, record).on(Undo, record);

function context() {
  return federation.createContext(new URL(origin), undefined);
}

const me = () => new URL(`${origin}/users/peer`);
const newId = (kind) => new URL(`${origin}/${kind}/${crypto.randomUUID()}`);
const notes = new Map();

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
  async follow({ handle }) {
    state.blog = await resolve(handle);
    state.follow = new Follow({ id: newId("follows"), actor: me(), object: state.blog.id });
    await send(state.follow);
    return { blog: state.blog.id.href, name: state.blog.name?.toString() ?? null };
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
    const request = new Request(url, {
      method: req.method,
      headers: Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : v]),
      body: ["GET", "HEAD"].includes(req.method) ? undefined : body,
    });
    const response = await federation.fetch(request, { contextData: undefined });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (e) {
    console.error(e);
    res.writeHead(500, { "content-type": "text/plain" });
    res.end(String(e?.stack ?? e));
  }
});
server.listen(port, "127.0.0.1", () => console.log("ready"));
