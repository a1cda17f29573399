/**
 * One item's swarm membership and the links it asks the mesh for: holders the coordinator names are
 * linked also after the download ended (ahead of the next item), and a download asks the open links
 * what they hold. Recording mesh; the mesh's own side is in peer-mesh.test.ts.
 */
import { describe, expect, it } from "vitest";
import { ContentSwarm, type ItemChannel } from "../../client/content-swarm";
import type { PeerMesh } from "../../client/peer-mesh";
import { encodeBitfield } from "../../protocol/chunk-bitfield";
import type { ManifestResponse } from "../../protocol/manifest";
import { content } from "./helpers";

function recordingMesh() {
  const calls: string[] = [];
  const mesh = {
    connect: (id: string, _root: string, ahead = false) => void calls.push(`connect ${id}${ahead ? " ahead" : ""}`),
    interest: (_root: string, count: number) => (calls.push(`interest ${count}`), () => void calls.push("interest end")),
    setHave: () => {},
    addHave: () => {},
  };
  return { calls, mesh: mesh as unknown as PeerMesh };
}

const channel: ItemChannel = { joined: () => true, answered: () => true, want: () => {}, have: () => {}, signal: () => true };

async function swarm() {
  const { manifest } = await content(10 * 1024, 1024);
  const response = { manifest, join: { peerId: "me", token: "t", expires: 0, url: "/swarm/x" }, iceServers: [] } as unknown as ManifestResponse;
  const { calls, mesh } = recordingMesh();
  return { cs: new ContentSwarm({ response, mesh, channel, held: () => [] }), calls };
}

const holder = (peerId: string, chunks: number[]) => ({ peerId, kind: "browser" as const, have: encodeBitfield(chunks, 10), proximity: "unknown" as const });

describe("content swarm: links", () => {
  it("a download asks the open links for its item (interest), and ends that interest once", async () => {
    const { cs, calls } = await swarm();
    const end = cs.startDownload();
    end();
    end();
    expect(calls).toEqual(["interest 10", "interest end"]);
  });

  it("holders named after the download ended are linked ahead (free slots only); non-holders are not", async () => {
    const { cs, calls } = await swarm();
    const end = cs.startDownload();
    cs.deliver({ type: "peers", peers: [holder("peer-during1", [0, 1]), holder("peer-nothing", [])] });
    end();
    // The answer to that download's `want` came after it ended (a small item, or one the lead served).
    cs.deliver({ type: "peers", peers: [holder("peer-late0001", [3]), holder("peer-nothing", [])] });
    expect(calls.filter((c) => c.startsWith("connect"))).toEqual(["connect peer-during1", "connect peer-late0001 ahead"]);
  });
});
