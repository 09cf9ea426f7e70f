/** Whether `error` says a path does not exist (ENOENT), or a path component is not a directory (ENOTDIR). */
export function isNotFound(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
