import type { Section } from "../lib/section";

export const peerPathSection: Section = {
  id: "peer-path",
  number: 2,
  title: "Peer path efficiency and the edge race",
  budgetS: { quick: 30, full: 120 },
  async run() {
    return { rows: [{ metric: "section", value: "not yet built", baseline: "—", ratio: "—", target: "", status: "pending" }], notes: [], data: {} };
  },
};
