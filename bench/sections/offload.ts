import type { Section } from "../lib/section";

export const offloadSection: Section = {
  id: "offload",
  number: 1,
  title: "Swarm offload",
  budgetS: { quick: 30, full: 120 },
  async run() {
    return { rows: [{ metric: "section", value: "not yet built", baseline: "—", ratio: "—", target: "", status: "pending" }], notes: [], data: {} };
  },
};
