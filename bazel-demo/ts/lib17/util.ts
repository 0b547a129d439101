export interface Tagged {
  readonly tag: string;
}

export function describe(n: number): string {
  return `lib17#${n}`;
}
