CREATE TABLE `federation_states` (
	`state_hash` text PRIMARY KEY NOT NULL,
	`provider` text NOT NULL,
	`browser_hash` text NOT NULL,
	`origin` text NOT NULL,
	`request` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `federation_states_expires_idx` ON `federation_states` (`expires_at`);