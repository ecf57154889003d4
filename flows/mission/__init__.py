"""The mission's actions: what the built-in flows (flows/builtin/*.yaml) do beyond asking
and saying. One module per concept; importing `flows.actions_mission` registers them all.

    consent     give_consent, consent_status
    policy      policy_answer, policy_section, eligibility_next, eligibility_answer,
                eligibility_result, eligibility_to_case
    cases       need_start, suggest_category, find_village, take_voice_description,
                need_summary, open_need_case, my_cases, case_timeline, answer_case_followup
    activities  list_activities, activity_details, join_activity, my_signups, cancel_signup,
                answer_waitlist_offer
    handoff     staff_availability, open_handoff, emergency_hotlines, voice_check
    privacy     set_opt_out, erase_me
    checkin     record_checkin (return-to-poverty check-ins)
"""
