// Four projects: pure logic (unit), the host kernel in throwaway namespaces (kernel), netqos under
// a real runtime (e2e: containerd + runc in a throwaway node namespace), and tests that need tc
// pieces this kernel lacks, run inside User-Mode Linux by scripts/uml-run.sh (uml).
// testTimeout is a global option (a project's own is ignored).
// TypeScript through ts-jest, with the tests' compiler options (test/tsconfig.json).
const base = {
  testEnvironment: 'node',
  transform: { '^.+\\.tsx?$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json' }] },
};
module.exports = {
  testTimeout: 60000,
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...base, displayName: 'kernel', testMatch: ['<rootDir>/test/kernel/**/*.test.ts'] },
    { ...base, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
    { ...base, displayName: 'uml', testMatch: ['<rootDir>/test/uml/**/*.test.ts'] },
  ],
};
