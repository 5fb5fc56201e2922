CREATE TABLE `crl_state` (
	`issuer_key_id` text PRIMARY KEY NOT NULL,
	`crl_number` integer DEFAULT 0 NOT NULL,
	`revision` integer DEFAULT 0 NOT NULL,
	`built_revision` integer DEFAULT -1 NOT NULL,
	`der` text,
	`this_update` integer,
	`next_update` integer
);
--> statement-breakpoint
CREATE TABLE `device_jti` (
	`device_id` text NOT NULL,
	`jti` text NOT NULL,
	`expires_at` integer NOT NULL,
	PRIMARY KEY(`device_id`, `jti`),
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `device_jti_expires_idx` ON `device_jti` (`expires_at`);