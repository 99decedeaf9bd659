"""Automatic emails: what every kind shares.

An automatic email is a template sent to an audience when something happens. Two kinds exist
today, and they differ only in *when* they fire:

- a trigger (`services.triggers`, configured in `services.campaign_triggers`) fires on an
  event: a submission, a status change;
- a reminder (`services.reminders`, its timing in `reminder_planning`, its outlook in
  `reminder_outlook`) fires on the clock: before the closing date, after time in a status.

Who receives one lives here, in `audience`: the same choices (the candidate, the person who
acted, the campaign's managers and evaluators, fixed addresses), the same access rules, the
same record of who was chosen but left out. Rendering is `rendering.render_row`, shared too;
so are the preview with example values and the "Send me a test" (`samples`).

A new kind (a bounce notice, an evaluator's assignment) is a small addition. It implements:

1. its model, with the recipient choices of `audience.RECIPIENT_FLAGS` it offers (columns
   named `to_candidate`, `to_managers`, `to_evaluators`, optionally `to_actor`, and
   `extra_addresses`) and an `id`;
2. its moment: what makes it fire (an event handler or a cron job) and, for each application
   concerned, an `audience.Audience(campaign).resolve(email, application, actor)` call, whose
   skips it records as `SkippedRecipient` rows and whose recipients it renders with
   `rendering.render_row` into outbox rows (through `webapp.outbox`'s API);
3. its configuration: a service with a loader (`configuration.get`) and save / set_active /
   delete (validated: its own fields, then `configuration.validated` for the recipient
   choices and switches every kind has; each ending in `changes.saved` / `switched` /
   `deleted`, which audit, commit and log), a form mixing in the campaigns
   blueprint's `RecipientsMixin` (rendered by `campaigns/_recipients_fieldset.html`, its rows'
   recipients by `campaigns/_recipients_cell.html`, its on / off switch by
   `campaigns/_switch.html`, its "Preview" and "Send me a test" by
   `campaigns/_preview_and_test.html`), a context builder in the blueprint's `sections` module
   and a views module on the same blueprint whose routes load through the services' loaders
   (NotFound, answered 404 app-wide) and go through the blueprint's `common` path
   (`email_route`, `automatic_email_form`, `save_form`, `switch`, `delete`), each answering
   with its own section of the Emails tab (a `sections.Section`); its loader and its
   `answer_for` join
   `sample_views.KINDS`, which serves its preview and "Send me a test";
4. its example values for the preview and the test, in `samples.sample_for`.
"""
