export type Shape = { readonly kind: "circle"; readonly r: number } | { readonly kind: "square"; readonly side: number };

export function area(shape: Shape): number {
  return shape.kind === "circle" ? Math.PI * shape.r * shape.r : shape.side * shape.side;
}
