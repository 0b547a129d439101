export function fixed(value: number, digits = 2): string {
  return value.toFixed(digits);
}
