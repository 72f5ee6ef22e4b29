import { Empty } from "../components/states";

// Owned by the designer work (ui/src/pages/designer/, ui/src/graph/): this placeholder is
// replaced by the React Flow designer.
export default function Designer() {
  return <Empty title="Designer" hint="The visual designer is being built on React Flow." />;
}
