//! Word lists for realistic demo data: Chinese names, places and categories.

/// Common surnames.
pub const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "萧", "田", "董", "潘",
];

/// Given names.
pub const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "文", "华", "玉兰", "红", "志强",
    "国强", "建国", "淑珍", "子涵", "浩然", "欣怡", "宇轩", "梓萱", "雨桐", "俊杰", "佳怡", "晓东",
    "海燕", "春梅", "德明", "凤英", "金花",
];

/// Residential compounds.
pub const COMMUNITIES: &[&str] = &[
    "幸福里小区",
    "和平苑",
    "阳光花园",
    "锦绣家园",
    "桂花新村",
    "东湖小区",
    "春晖苑",
    "翠竹园",
];

/// Case categories.
pub const CASE_CATEGORIES: &[&str] = &[
    "环境卫生",
    "邻里纠纷",
    "帮办代办",
    "设施报修",
    "政策咨询",
    "噪音扰民",
    "物业管理",
    "养老服务",
];

/// Case descriptions by category index.
pub const CASE_DESCRIPTIONS: &[&str] = &[
    "楼道堆放杂物，请求清理",
    "楼上漏水引发邻里矛盾",
    "代办高龄津贴申请",
    "单元门禁损坏",
    "咨询医保缴费政策",
    "夜间装修噪音",
    "小区路灯不亮",
    "申请助餐服务",
];

/// Hazard categories with a typical description.
pub const HAZARDS: &[(&str, &str)] = &[
    ("消防安全", "楼道电动车充电，堵塞消防通道"),
    ("燃气安全", "燃气软管老化"),
    ("用电安全", "私拉乱接电线"),
    ("房屋安全", "外墙瓷砖松动"),
    ("道路交通", "小区出入口车辆乱停"),
    ("防汛防台", "地下车库排水不畅"),
];

/// Region codes (GB/T 2260) of the districts of Fuzhou, Fujian, for the
/// identity numbers of local residents: 鼓楼, 台江, 仓山, 晋安, 马尾.
pub const LOCAL_REGIONS: &[&str] = &["350102", "350103", "350104", "350111", "350105"];

/// Region codes of places a floating population (流动人口) comes from:
/// elsewhere in Fujian (宁德, 南平, 三明) and neighbouring provinces
/// (南昌, 长沙, 成都, 赣州).
pub const ORIGIN_REGIONS: &[&str] = &[
    "350902", "350702", "350402", "360102", "430102", "510104", "360702",
];

/// The demo town's centre (WGS-84), in Fuzhou's 鼓楼 district; grids are
/// laid out around it.
pub const CENTRE: (f64, f64) = (26.0820, 119.2960);
