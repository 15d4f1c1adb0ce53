/**
 * Import-graph rules, checked by `npm run lint` (dependency-cruiser). The sources form a stack:
 * shared leaf types at the bottom (types.ts, call-signal.ts, errors.ts), pure decision modules,
 * then layers and the client. A cycle means a lower module reached up; type-only imports count too.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles in src/, type-only imports included: move the shared type down instead.',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
}
