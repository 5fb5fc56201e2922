declare namespace Cloudflare {
  interface Env {
    /** The connector's D1 migrations, applied by test/connector/apply-migrations.ts. */
    TEST_MIGRATIONS: import('cloudflare:test').D1Migration[];
    /** A private encryption JWK the connector does not hold (test/connector/bindings.test-fixture.ts). */
    TEST_FOREIGN_KEY: string;
  }
}
