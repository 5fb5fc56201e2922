CREATE TABLE `org_keys` (
	`org_id` text NOT NULL,
	`kid` text NOT NULL,
	`use` text NOT NULL,
	`jwk` text NOT NULL,
	`status` text NOT NULL,
	`created_by` text,
	`created_at` integer NOT NULL,
	`retired_at` integer,
	PRIMARY KEY(`org_id`, `kid`),
	FOREIGN KEY (`org_id`) REFERENCES `organisations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `org_keys_use_idx` ON `org_keys` (`org_id`,`use`,`status`);--> statement-breakpoint
CREATE TABLE `org_members` (
	`org_id` text NOT NULL,
	`user_id` text NOT NULL,
	`role` text NOT NULL,
	`granted_by` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`org_id`, `user_id`),
	FOREIGN KEY (`org_id`) REFERENCES `organisations`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `org_members_user_idx` ON `org_members` (`user_id`);--> statement-breakpoint
CREATE TABLE `organisations` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`settings` text,
	`created_by` text,
	`created_at` integer NOT NULL,
	`updated_at` integer
);
--> statement-breakpoint
CREATE TABLE `device_orgs` (
	`device_id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`assigned_by` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`org_id`) REFERENCES `organisations`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `device_orgs_org_idx` ON `device_orgs` (`org_id`);--> statement-breakpoint
CREATE TABLE `otp_orgs` (
	`otp_id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	FOREIGN KEY (`otp_id`) REFERENCES `otps`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`org_id`) REFERENCES `organisations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `records` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`id` text NOT NULL,
	`kind` text NOT NULL,
	`org_id` text,
	`device_id` text,
	`user_id` text,
	`type` text NOT NULL,
	`time` text NOT NULL,
	`payload_format` text NOT NULL,
	`payload` text NOT NULL,
	`enc_kid` text,
	`signature` text,
	`sig_kid` text,
	`size` integer NOT NULL,
	`received_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organisations`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `records_org_seq_idx` ON `records` (`org_id`,`seq`);--> statement-breakpoint
CREATE INDEX `records_device_seq_idx` ON `records` (`device_id`,`seq`);--> statement-breakpoint
CREATE UNIQUE INDEX `records_device_event_uq` ON `records` (`device_id`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `records_org_record_uq` ON `records` (`org_id`,`id`) WHERE kind = 'record';