import type { Section } from "../lib/section";

export const coordinatorSection: Section = {
  id: "coordinator",
  number: 3,
  title: "Coordinator",
  budgetS: { quick: 30, full: 120 },
  async run() {
    return { rows: [{ metric: "section", value: "not yet built", baseline: "—", ratio: "—", target: "", status: "pending" }], notes: [], data: {} };
  },
};
