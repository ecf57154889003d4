"""The words of the dashboard, the audit log page and the home page's "action needed"
(bot/web/dashboard.py, bot/web/audit_log.py, bot/web/inbox.py), Chinese first."""
from __future__ import annotations

DASH = {
    "zh": {
        "dashboard": "统计", "filters": "筛选", "area": "地区", "all_areas": "我负责的全部地区", "from": "从",
        "to": "到", "apply": "查看", "csv": "下载表格（CSV）", "no_data": "这段时间没有数据。",
        "records": "导出记录（含个人信息，仅管理员，每次导出都记入审计日志）",
        "record_names": {"cases": "个案", "activities": "活动报名和出席", "handoffs": "转人工对话",
                         "referrals": "转介", "checkins": "防返贫回访"},
        "totals_only": "这里只有统计数字，没有个人信息。", "range": "{first} 至 {last}",
        "bad_dates": "开始日期不能晚于结束日期。",
        "action_needed": "需要处理", "new_handoffs": "新的求助", "overdue_tasks": "逾期任务",
        "referrals_waiting": "等机构办理的转介", "days": "天", "agency": "机构",
        "referral_status": {"sent": "已转介，等接收", "accepted": "机构已接收，等办好"},
        "audit": "审计日志", "actor": "谁（用户名或 staff:编号）", "action": "操作（如 export、person.read）",
        "subject": "对象（如 person:5、个案号）", "at": "时间", "who": "谁", "what": "操作", "record": "对象",
        "details": "详情", "total": "共 {n} 条", "more": "更早的", "none_found": "没有符合条件的记录。",
    },
    "en": {
        "dashboard": "Dashboard", "filters": "Filters", "area": "Area", "all_areas": "all my areas", "from": "From",
        "to": "To", "apply": "Show", "csv": "Download the table (CSV)", "no_data": "No data in this period.",
        "records": "Record exports (personal fields; admins only; every export goes to the audit log)",
        "record_names": {"cases": "Cases", "activities": "Sign-ups and attendance", "handoffs": "Handoffs",
                         "referrals": "Referrals", "checkins": "Check-ins"},
        "totals_only": "Totals only; no personal fields here.", "range": "{first} to {last}",
        "bad_dates": "The first day is after the last day.",
        "action_needed": "Action needed", "new_handoffs": "New handoffs", "overdue_tasks": "Overdue tasks",
        "referrals_waiting": "Referrals waiting for an agency", "days": "days", "agency": "Agency",
        "referral_status": {"sent": "sent, not yet accepted", "accepted": "accepted, not yet done"},
        "audit": "Audit log", "actor": "Who (username or staff:ID)", "action": "Action (e.g. export, person.read)",
        "subject": "Record (e.g. person:5, a case number)", "at": "When", "who": "Who", "what": "Action",
        "record": "Record", "details": "Details", "total": "{n} entries", "more": "Older",
        "none_found": "Nothing matches.",
    },
}
