/** The stack's own account and region in tests: the simulators' default account (test/simulators/lex-simulator.ts) and us-east-1. */
export const TEST_HOME = { account: '123456789012', region: 'us-east-1' } as const;
