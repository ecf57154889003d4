"""Policy ids: the canonical names of the policies the bot explains (nlu's `policy` entity,
the policy records in storage, the flows' answers)."""
from __future__ import annotations

__all__ = ["POLICY_IDS"]

POLICY_IDS = (
    "dibao", "tekun", "linshi_jiuzhu", "yiliao_jiuzhu", "canji_butie", "jiaoyu_zizhu", "yulu_jihua",
    "weifang_gaizao", "xiaoe_xindai", "gongyi_gangwei", "fanpin_jiance", "yanglao_baoxian", "jiuye_peixun",
    "liushou_ertong",
)
