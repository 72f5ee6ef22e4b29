// The designer lives in src/designer/ (its canvas code in src/graph/, shared with the
// execution page); this is its route's entry.
export { default } from "../designer/DesignerPage";
