"""Automatic emails: what every kind shares.

An automatic email is a template sent to an audience when something happens. Two kinds exist
today, and they differ only in *when* they fire:

- a trigger (`services.triggers`, configured in `services.campaign_triggers`) fires on an
  event: a submission, a status change;
- a reminder (`services.reminders`, its timing in `reminder_planning`, its outlook in
  `reminder_outlook`) fires on the clock: before the closing date, after time in a status.

Who receives one lives here, in `audience`: the same choices (the candidate, the person who
acted, the campaign's managers and evaluators, fixed addresses), the same access rules, the
same record of who was chosen but left out. Rendering is `triggers.render_row`, shared too.

A new kind (a bounce notice, an evaluator's assignment) is a small addition. It implements:

1. its model, with the recipient choices of `audience.RECIPIENT_FLAGS` it offers (columns
   named `to_candidate`, `to_managers`, `to_evaluators`, optionally `to_actor`, and
   `extra_addresses`) and an `id`;
2. its moment: what makes it fire (an event handler or a cron job) and, for each application
   concerned, an `audience.Audience(campaign).resolve(email, application, actor)` call, whose
   skips it records as `SkippedRecipient` rows and whose recipients it renders with
   `triggers.render_row` into outbox rows (through `webapp.outbox`'s API);
3. its configuration: a service with save / set_active / delete (validated, audited; the
   recipient choices checked by `audience.check_recipients`), a form mixing in the campaigns
   blueprint's `RecipientsMixin` (rendered by `campaigns/_recipients_fieldset.html`, its rows'
   recipients by `campaigns/_recipients_cell.html`), a context builder in the blueprint's
   `sections` module and a views module on the same blueprint (`automatic_email_form`,
   `save_automatic_email`, `saved`, `section_or_page`), whose htmx answers redraw only its
   own section of the Emails tab.
"""
